"""The error of a forecast asked for in a way that cannot work."""


class ForecastError(ValueError):
    """A forecast asked for in a way that cannot work (a horizon beyond the trained one,
    an output that would overwrite the input, …), described in one line with the fix."""
