"""The one exception type for problems with the user's data or data settings."""


class DataError(ValueError):
    """A user-caused data problem, described in one line that names the file (and the
    column and line where that helps) and says how to fix it.

    A ``ValueError`` so callers that already catch those keep working; ``train.py``
    prints it without a traceback.
    """
