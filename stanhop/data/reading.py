"""Reading CSV files as stanhop reads them: pandas' failures mapped to one-line
:class:`~stanhop.data.DataError`s, headers checked before pandas sees them, and the last
rows of a large file read from its end."""

from __future__ import annotations

import functools
import io
import os
import warnings
from pathlib import Path

import pandas as pd

from stanhop.data.errors import DataError
from stanhop.data.header import check_header
from stanhop.data.messages import Locator
from stanhop.data.tail import count_lines, read_tail_lines

# A file smaller than this is read whole even when only its last rows are wanted: that
# costs little (well under a second and 100 MB) and checks every row.
TAIL_MIN_BYTES = 8 << 20
# Reading the last rows gives up (and reads the whole file) past this many bytes: lines
# that long, or lines ending in a lone "\r", are not worth the special case.
TAIL_MAX_BYTES = 64 << 20


def read_table(path: Path, **kwargs: object) -> pd.DataFrame:
    """:func:`_parse_csv` of ``path``, with its failures as DataErrors."""
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a file; give the path of a CSV file")
    if not path.is_file():
        raise DataError(
            f"{path}: file not found; check the path (relative paths start at "
            "the directory you run from)"
        )
    try:
        return _parse_csv(path, **kwargs)
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{path}: the file is empty; it needs a header line and data rows"
        ) from None
    except UnicodeDecodeError as err:
        raise DataError(
            f"{path}: not a CSV of UTF-8 text (byte {err.object[err.start]:#04x}: "
            f"{err.reason}); give a CSV file saved as UTF-8, e.g. as 'CSV UTF-8' in Excel"
        ) from None
    except pd.errors.ParserError as err:
        reason = " ".join(str(err).split())
        raise DataError(f"{path}: not a readable CSV ({reason})") from None
    except pd.errors.ParserWarning:
        raise DataError(
            f"{path}: the first data row has more fields than the header line; name every "
            "column in the header, or remove the extra fields (e.g. a trailing comma)"
        ) from None
    except OSError as err:
        raise DataError(f"{path}: cannot read the file ({err.strerror})") from None


def _parse_csv(source: Path | io.BytesIO, **kwargs: object) -> pd.DataFrame:
    """``pd.read_csv(source, **kwargs)`` as stanhop reads CSVs. Blank lines are kept as
    all-NaN rows (the caller drops them) so that row label i is line i + 2 of the file.
    A first data row with more fields than the header raises ``ParserWarning``."""
    with warnings.catch_warnings():
        # Without index_col=False pandas takes the extra fields of a first data row for
        # row labels (a MultiIndex of thousands of levels takes minutes) and shifts the
        # columns; with it, pandas drops them with this warning, an error here.
        warnings.filterwarnings("error", "Length of header", pd.errors.ParserWarning)
        return pd.read_csv(source, skip_blank_lines=False, index_col=False, **kwargs)


def read_header(path: Path, sep: str = ",") -> list[str]:
    """The column names in the first line of ``path`` (checked by
    :func:`~stanhop.data.header.check_header` first)."""
    check_header(path, sep)
    columns = [str(c) for c in read_table(path, nrows=0, sep=sep).columns]
    if not columns:
        raise DataError(
            f"{path}: the first line is empty; it must be the header, the names of the "
            "columns separated by commas"
        )
    return columns


def read_tail(
    path: Path, last: int, keep: list[str] | None = None, **kwargs: object
) -> tuple[pd.DataFrame, Locator] | None:
    """The header and at least the last ``last`` rows of ``path``, parsed as
    :func:`read_table` parses the whole file (``kwargs`` as for ``pd.read_csv``), and the
    locator of their rows; ``None`` when the file is small, or its end cannot be parsed on
    its own for the reasons :func:`~stanhop.data.read_wide_csv` gives — the caller then
    reads the whole file, which also reports any error exactly.

    Rows are counted as the whole-file read counts them: a line whose cells in ``keep``
    (default: all columns) are all empty (a blank line, ``,,,``) is dropped there, so it
    does not count here either, and more lines are read until ``last`` rows are left."""
    try:
        with path.open("rb") as file:
            if file.seek(0, os.SEEK_END) < TAIL_MIN_BYTES:
                return None
            file.seek(0)
            header = file.readline(TAIL_MAX_BYTES)
            if not header.endswith(b"\n") or b"\0" in header or b'"' in header:
                return None
            n_lines, rows = last, 0
            while rows < last:
                tail = read_tail_lines(file, n_lines, len(header), TAIL_MAX_BYTES)
                # NUL bytes mean UTF-16 or binary; a quote may open a field that spans lines.
                if tail is None or tail[0] == len(header) or b"\0" in tail[1] or b'"' in tail[1]:
                    return None
                parsed = _parse_tail(header, tail[1], keep, **kwargs)
                if parsed is None:
                    return None
                raw, rows = parsed
                n_lines *= 2  # too few rows: empty lines were among these, read further back
    except OSError:
        return None
    first = raw[keep] if keep is not None else raw
    # The NaN policy may fill an empty cell of the first row from the rows above it.
    if first.dropna(how="all").iloc[0].isna().any():
        return None
    return raw, _tail_locator(path, tail[0])


def _parse_tail(
    header: bytes, body: bytes, keep: list[str] | None, **kwargs: object
) -> tuple[pd.DataFrame, int] | None:
    """``header + body`` parsed, and how many of its rows are not empty throughout ``keep``;
    ``None`` where that text cannot be parsed on its own."""
    if body.count(b"\r") != body.count(b"\r\n"):  # pandas also ends lines at a lone \r
        return None
    try:
        raw = _parse_csv(io.BytesIO(header + body), **kwargs)
    except (
        pd.errors.ParserError,
        pd.errors.ParserWarning,
        pd.errors.EmptyDataError,
        UnicodeDecodeError,
    ):
        return None
    if keep is not None and not set(keep) <= set(map(str, raw.columns)):
        return None
    rows = len((raw[keep] if keep is not None else raw).dropna(how="all"))
    return (raw, rows) if rows else None


def _tail_locator(path: Path, offset: int) -> Locator:
    """Locates row ``label`` of the rows read from byte ``offset`` on; the lines above
    them are counted (reading the file up to there) only when a message needs it."""

    @functools.cache
    def lines_before() -> int:
        with path.open("rb") as file:
            return count_lines(file, offset)

    return lambda label: f"line {lines_before() + label + 1}"
