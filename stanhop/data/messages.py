"""Message helpers for data errors: how a row is located and how names and cells are
quoted, so every message about a file reads the same."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

# How many names a message lists before saying "and N more".
LISTED = 10
# How many characters of a cell or a name a message quotes.
QUOTED = 60

# Says where row ``label`` of a raw table is, for messages: "line 7", "row 5".
Locator = Callable[[Hashable], str]


def listing(names: Sequence[object]) -> str:
    """``'a', 'b', 'c'``, cut after a few names with ``and N more``."""
    shown = ", ".join(map(quoted, names[:LISTED]))
    rest = len(names) - LISTED
    return f"{shown} and {rest} more" if rest > 0 else shown


def quoted(value: object) -> str:
    """``repr(value)`` for a message, cut short when long (a cell of a mangled file can
    hold a whole megabyte)."""
    text = repr(value)
    return text if len(text) <= QUOTED else f"{text[: QUOTED - 4]}…{text[-3:]}"


def line_of(label: Hashable) -> str:
    """The line in the file of the row labelled ``label`` (the header is line 1)."""
    return f"line {label + 2}"


def row_of(label: Hashable) -> str:
    """The row labelled ``label`` of a table that is not a file."""
    return f"row {label}"
