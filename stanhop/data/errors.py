"""The exception and warning types for problems with the user's data or data settings."""


class DataError(ValueError):
    """A user-caused data problem, described in one line that names the file (and the
    column and line where that helps) and says how to fix it.

    A ``ValueError`` so callers that already catch those keep working; ``train.py``
    prints it without a traceback.
    """


class DataWarning(UserWarning):
    """Something about the user's data that works but may not be what they meant (e.g.
    columns that are ignored), in one line naming the file."""


class DataNote(UserWarning):
    """Something done to the user's data that they should know of but that is no reason to
    stop (e.g. a few missing cells filled); unlike a :class:`DataWarning`, ``--strict``
    does not turn it into an error."""
