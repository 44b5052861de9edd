"""The header line of a CSV, checked before pandas reads it: pandas renames a repeated
column name (``a``, ``a.1``), which would become a series of its own, and reads a file
with another delimiter as one column, which leads to messages about missing series or
trailing commas. Also the delimiter and decimal mark a user can choose."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

from stanhop.data.errors import DataError
from stanhop.data.messages import quoted

# The delimiters a header is tried with when it reads as a single column, with the name a
# message gives them.
DELIMITERS = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars"}
# Spellings of the tab a command line can pass without a literal tab character.
TAB_NAMES = ("\\t", "tab")
EXAMPLES = {"sep": "';', '|' or 'tab'", "decimal": "',' or '.'"}
# A number written with a decimal comma, e.g. 1,5 or -1.234,5 (thousands dots allowed).
DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d{1,3}(\.\d{3})*,\d+\s*$|^\s*[-+]?\d+,\d+\s*$")
# The header is read up to this many bytes: longer first lines are not worth checking.
MAX_HEADER_BYTES = 64 << 20


def how_to_set(option: str, value: str) -> str:
    """How to pass ``option=value`` to each command, e.g. for ``sep=';'``: training's
    ``'data.sep=";"'`` (Hydra needs the quotes) and ``--sep ';'`` of forecast.py."""
    shown = "\\t" if value == "\t" else value
    return f"""'data.{option}="{shown}"' for training, --{option} '{shown}' for forecast.py"""


def check_dialect(sep: str, decimal: str, source: str | Path) -> str:
    """``sep`` after checking it and ``decimal`` (one character each, and not the same);
    ``\\t`` or ``tab`` stand for the tab."""
    if sep in TAB_NAMES:
        sep = "\t"
    for name, value in (("sep", sep), ("decimal", decimal)):
        if len(value) != 1:
            raise DataError(
                f"{source}: {name}={value!r} must be one character, e.g. {EXAMPLES[name]}"
            )
    if sep == decimal:
        raise DataError(
            f"{source}: sep and decimal are both {sep!r}; a file with decimal commas separates "
            "its columns with something else, usually ';'"
        )
    return sep


def check_header(path: Path, sep: str) -> None:
    """Refuse a header that repeats a column name, or that reads as one column because
    the file is separated by another delimiter than ``sep`` (the message says which, and
    whether the numbers look like they have decimal commas)."""
    lines = _first_lines(path)
    if not lines:
        return  # an empty or unreadable file: pandas reports it
    fields = _fields(lines[0], sep)
    _check_repeats(fields, path)
    if len(fields) == 1:
        _check_other_delimiters(lines, sep, path)


def _fields(line: str, sep: str) -> list[str]:
    """The fields of one CSV line, quotes respected; split plainly where the csv module
    refuses (a field beyond its size limit), which is close enough for these checks."""
    try:
        return next(csv.reader([line], delimiter=sep), [])
    except csv.Error:
        return line.split(sep)


def _first_lines(path: Path) -> list[str]:
    """The header and the first data line, as text; empty when they are not UTF-8."""
    try:
        with path.open("rb") as file:
            head = file.readline(MAX_HEADER_BYTES) + file.readline(MAX_HEADER_BYTES)
        return head.decode("utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return []


def _check_repeats(fields: list[str], path: Path) -> None:
    # Empty names are left to pandas, which calls them "Unnamed: N", each its own.
    counts = Counter(name for name in fields if name)
    repeated = [name for name in counts if counts[name] > 1]
    if not repeated:
        return
    name = repeated[0]
    first, second = [i + 1 for i, field in enumerate(fields) if field == name][:2]
    total = sum(counts[n] - 1 for n in repeated)
    also = f"; {total} repeats in all" if total > 1 else ""
    raise DataError(
        f"{path}: column name {quoted(name)} appears more than once in the header (columns "
        f"{first} and {second}{also}); give every column its own name on the first line"
    )


def _check_other_delimiters(lines: list[str], sep: str, path: Path) -> None:
    for other, name in DELIMITERS.items():
        if other == sep or len(_fields(lines[0], other)) < 2:
            continue
        hint = f"pass sep={other!r} ({how_to_set('sep', other)})"
        cells = _fields(lines[1], other) if len(lines) > 1 else []
        if other != "," and any(map(looks_like_decimal_comma, cells)):
            hint += f", and decimal=',' for its decimal commas ({how_to_set('decimal', ',')})"
        raise DataError(
            f"{path}: the header is a single column when split at {sep!r}, but the file is "
            f"separated by {name}; {hint}"
        )


def looks_like_decimal_comma(cell: object) -> bool:
    """Whether a cell that is no number reads as one written with a decimal comma."""
    return isinstance(cell, str) and DECIMAL_COMMA.match(cell) is not None
