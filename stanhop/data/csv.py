"""Read and validate a wide CSV: one timestamp column plus one numeric column per series.

Every problem is reported as a :class:`DataError` naming the file and, where it helps,
the column and the line (line 1 is the header, so the first data row is line 2).
"""

from __future__ import annotations

import functools
import io
import os
import warnings
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import numpy as np
import pandas as pd

from stanhop.data.errors import DataError, DataWarning
from stanhop.data.tail import count_lines, read_tail_lines

NAN_POLICIES = ("error", "ffill", "interpolate")
# A file smaller than this is read whole even when only its last rows are wanted: that
# costs little (well under a second and 100 MB) and checks every row.
TAIL_MIN_BYTES = 8 << 20
# pandas renames repeated column names (a, a.1, a.2, …) in time quadratic in how many
# there are (20,000 take 10 s, 200,000 a quarter of an hour); a header with more repeats
# than this is refused first.
MAX_REPEATED_NAMES = 1000
# Reading the last rows gives up (and reads the whole file) past this many bytes: lines
# that long, or lines ending in a lone "\r", are not worth the special case.
TAIL_MAX_BYTES = 64 << 20
# How many names a message lists before saying "and N more".
_LISTED = 10
# How many characters of a cell or a name a message quotes.
_QUOTED = 60
# Longer text is no timestamp (the longest ISO form, with nanoseconds and an offset, has 35).
_MAX_TIMESTAMP_CHARS = 100

# Says where row ``label`` of a raw table is, for messages: "line 7", "row 5".
Locator = Callable[[Hashable], str]


def read_wide_csv(
    path: str | Path,
    date_column: str | None = None,
    nan_policy: str = "error",
    series: Sequence[str] | None = None,
    last: int | None = None,
) -> pd.DataFrame:
    """Read ``path`` into a frame with a sorted ``DatetimeIndex`` (named after the date
    column) and one float64 column per series, in file order.

    ``date_column`` defaults to the first column. ``nan_policy`` says what to do with
    empty or NaN cells: ``error`` (default), ``ffill`` (forward fill, then backward fill
    for leading gaps) or ``interpolate`` (linear in time, edges filled like ``ffill``).
    ``series``, when given, names the columns to read, in the order wanted: missing ones
    are an error that names them, other columns are not read (with a :class:`DataWarning`
    naming them).

    ``last``, when given, says that only the last ``last`` rows are wanted: a file of at
    least :data:`TAIL_MIN_BYTES` is then read from its end (the header line, then blocks
    backwards from the end until ``last`` rows are complete), in memory that does not
    grow with the file. Only the rows read are validated (a bad cell further up goes
    unnoticed); they come out as from a full read, and their problems are reported with
    the same messages and line numbers. Where the end cannot be parsed on its own (a
    quoted field, which may span lines; a first row with an empty cell, which the NaN
    policy may fill from the rows above; odd line ends or bytes) the whole file is read,
    and the frame holds it all.
    """
    check_nan_policy(nan_policy, path)
    path = Path(path)
    columns = _header(path)
    date_column = _date_column(columns, date_column, path)
    usecols = None
    if series is not None:
        usecols = _wide_columns(columns, date_column, series, path)
    # Timestamps stay text until parsed below (pandas would read "2020" as an integer).
    options = {"dtype": {date_column: str}, "usecols": usecols}
    tail = _read_tail(path, last, **options) if last is not None else None
    raw, where = tail or (_read(path, **options), _line)
    return parse_wide_frame(raw, path, date_column, nan_policy, series, where=where)


def parse_wide_frame(
    raw: pd.DataFrame,
    source: str | Path,
    date_column: str | None = None,
    nan_policy: str = "error",
    series: Sequence[str] | None = None,
    where: Locator | None = None,
) -> pd.DataFrame:
    """Validate a raw table (a timestamp column and series columns, cells as read from a
    CSV or already typed) into the frame :func:`read_wide_csv` returns. ``source`` names
    the data in messages and ``where(label)`` locates a row (default: ``row <label>``);
    the other arguments are those of :func:`read_wide_csv`. Rows that are empty
    throughout (blank lines) are dropped."""
    check_nan_policy(nan_policy, source)
    where = where or _row
    columns = [str(c) for c in raw.columns]
    if not columns:
        raise DataError(f"{source}: no columns; the data needs a timestamp column and series")
    raw = raw.set_axis(columns, axis=1)
    date_column = _date_column(columns, date_column, source)
    if series is not None:
        raw = raw[_wide_columns(columns, date_column, series, source)]
    raw = raw.dropna(how="all")
    if raw.empty:
        raise DataError(f"{source}: no data rows, only a header; add the data rows")
    if raw.shape[1] < 2:
        raise DataError(
            f"{source}: no series columns besides {quoted(date_column)}; the file needs a "
            "timestamp column and at least one numeric column, separated by commas"
        )
    names = [c for c in raw.columns if c != date_column]
    index = _parse_timestamps(raw[date_column], source, date_column, where)
    values = _parse_numbers(raw[names], source, where)
    frame = pd.DataFrame(values, index=index, columns=names)
    return _fill_nans(frame, source, nan_policy)


def check_nan_policy(nan_policy: str, source: str | Path) -> None:
    """Raise a :class:`DataError` unless ``nan_policy`` is one of :data:`NAN_POLICIES`."""
    if nan_policy not in NAN_POLICIES:
        raise DataError(
            f"{source}: unknown nan_policy {nan_policy!r}; use one of {', '.join(NAN_POLICIES)}"
        )


def select_series(
    columns: Sequence[str], date_column: str, series: Sequence[str], source: str | Path
) -> list[str]:
    """``series`` after checking that each is among ``columns``; warns (one line, a
    :class:`DataWarning`) about the columns that are neither a series nor the date."""
    present = set(columns)
    missing = [s for s in series if s not in present]
    if missing:
        raise DataError(
            f"{source}: missing series column(s) {listing(missing)}; the data needs all "
            f"{len(series)} of {listing(series)} (matched by name, in any order)"
        )
    wanted = set(series)
    extra = [c for c in columns if c not in wanted and c != date_column]
    if extra:
        warnings.warn(
            f"{source}: ignoring {len(extra)} column(s) that are not series of the model: "
            f"{listing(extra)}",
            DataWarning,
            stacklevel=3,
        )
    return list(series)


def _wide_columns(
    columns: Sequence[str], date_column: str, series: Sequence[str], source: str | Path
) -> list[str]:
    """The columns to read from a wide table: the timestamps, then ``series``."""
    if date_column in series:
        raise DataError(
            f"{source}: column {quoted(date_column)} is a series of the model but is read as the "
            "timestamps; put the timestamps in the first column, or name their column with "
            "date_column (--date-column)"
        )
    return [date_column, *select_series(columns, date_column, series, source)]


def listing(names: Sequence[object]) -> str:
    """``'a', 'b', 'c'``, cut after a few names with ``and N more``."""
    shown = ", ".join(map(quoted, names[:_LISTED]))
    rest = len(names) - _LISTED
    return f"{shown} and {rest} more" if rest > 0 else shown


def quoted(value: object) -> str:
    """``repr(value)`` for a message, cut short when long (a cell of a mangled file can
    hold a whole megabyte)."""
    text = repr(value)
    return text if len(text) <= _QUOTED else f"{text[: _QUOTED - 4]}…{text[-3:]}"


def infer_freq(index: pd.DatetimeIndex) -> str | None:
    """The pandas frequency alias of ``index`` (``"h"``, ``"15min"``, ``"W-TUE"``…), or
    ``None`` when the index is too short or irregular."""
    if len(index) < 3:
        return None
    try:
        with _offsets_from_infer_freq():
            freq = pd.infer_freq(index)
    except (TypeError, ValueError):
        return None
    if freq is None:
        return None
    return freq if isinstance(freq, str) else freq.freqstr


def _offsets_from_infer_freq() -> AbstractContextManager[object]:
    """pandas >= 3.1 warns that ``infer_freq`` will return an offset instead of a string;
    opt in to that where the option exists (the caller reads ``.freqstr``)."""
    try:
        pd.get_option("future.infer_freq_returns_offset")
    except pd.errors.OptionError:
        return nullcontext()
    return pd.option_context("future.infer_freq_returns_offset", True)


def _read(path: Path, **kwargs: object) -> pd.DataFrame:
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


def _header(path: Path) -> list[str]:
    """The column names in the first line of ``path``."""
    _check_repeated_names(path)
    columns = [str(c) for c in _read(path, nrows=0).columns]
    if not columns:
        raise DataError(
            f"{path}: the first line is empty; it must be the header, the names of the "
            "columns separated by commas"
        )
    return columns


def _check_repeated_names(path: Path) -> None:
    """Refuse a header that repeats names more than :data:`MAX_REPEATED_NAMES` times,
    before pandas, which would take minutes to rename them. The names are split at every
    comma, quoted or not: close enough to count repeats."""
    try:
        with path.open("rb") as file:
            first = file.readline(TAIL_MAX_BYTES).splitlines()  # also at a lone \r
        names = Counter(first[0].split(b",") if first else [])
    except OSError:
        return  # pandas reports it
    repeats = sum(names.values()) - len(names)
    if repeats > MAX_REPEATED_NAMES:
        name = names.most_common(1)[0][0].decode(errors="replace")
        raise DataError(
            f"{path}: the header repeats column names {repeats} times (e.g. {quoted(name)}); give "
            "every column its own name on the first line"
        )


def _read_tail(path: Path, last: int, **kwargs: object) -> tuple[pd.DataFrame, Locator] | None:
    """The header and the last ``last`` rows of ``path``, parsed as :func:`_read` parses
    the whole file (``kwargs`` as for ``pd.read_csv``), and the locator of their rows;
    ``None`` when the file is small, or its end cannot be parsed on its own for the
    reasons :func:`read_wide_csv` gives — the caller then reads the whole file, which
    also reports any error exactly."""
    try:
        with path.open("rb") as file:
            if file.seek(0, os.SEEK_END) < TAIL_MIN_BYTES:
                return None
            file.seek(0)
            header = file.readline(TAIL_MAX_BYTES)
            tail = read_tail_lines(file, last, start=len(header), max_bytes=TAIL_MAX_BYTES)
    except OSError:
        return None
    # NUL bytes mean UTF-16 or binary; a quote may open a field that spans lines.
    if tail is None or tail[0] == len(header) or not header.endswith(b"\n"):
        return None
    offset, body = tail
    if any(b"\0" in part or b'"' in part for part in (header, body)):
        return None
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
    if raw.iloc[0].isna().any():
        return None
    return raw, _tail_locator(path, offset)


def _tail_locator(path: Path, offset: int) -> Locator:
    """Locates row ``label`` of the rows read from byte ``offset`` on; the lines above
    them are counted (reading the file up to there) only when a message needs it."""

    @functools.cache
    def lines_before() -> int:
        with path.open("rb") as file:
            return count_lines(file, offset)

    return lambda label: f"line {lines_before() + label + 1}"


def _date_column(columns: Sequence[str], date_column: str | None, source: str | Path) -> str:
    """The timestamp column: ``date_column`` after checking it exists, else the first."""
    if date_column is None:
        return str(columns[0])
    if date_column not in columns:
        raise DataError(
            f"{source}: no column {quoted(date_column)}; the columns are {listing(columns)} — set "
            "date_column to one of them"
        )
    return date_column


def _line(label: Hashable) -> str:
    """The line in the file of the row labelled ``label`` (the header is line 1)."""
    return f"line {label + 2}"


def _row(label: Hashable) -> str:
    return f"row {label}"


def _parse_timestamps(
    raw: pd.Series, source: str | Path, column: str, where: Locator
) -> pd.DatetimeIndex:
    """``raw`` as timestamps, each present and parsable, none repeated, in order."""
    parsed = to_timestamps(raw, source, column, where)
    dup = parsed.duplicated()
    if dup.any():
        label = parsed.index[dup.argmax()]
        raise DataError(
            f"{source}: duplicate timestamp {quoted(raw[label])} at {where(label)}; each "
            "timestamp must appear once — remove or merge the repeated rows"
        )
    backwards = parsed.diff() < pd.Timedelta(0)
    if backwards.any():
        label = parsed.index[backwards.argmax()]
        raise DataError(
            f"{source}: timestamps are not sorted: {where(label)} ({quoted(raw[label])}) is "
            "earlier than the row above it; sort the file by time"
        )
    return pd.DatetimeIndex(parsed, name=column)


def to_timestamps(raw: pd.Series, source: str | Path, column: str, where: Locator) -> pd.Series:
    """Parse every cell of ``raw`` as a timestamp; an empty or unparsable cell is a
    :class:`DataError` that names its row."""
    missing = raw.isna()
    if missing.any():
        label = raw.index[missing.argmax()]
        raise DataError(
            f"{source}: empty timestamp in column {quoted(column)} at {where(label)}; fill it in"
        )
    # pandas guesses one format from the first value and applies it to all; values that
    # do not fit that format come back as NaT, so they are retried one by one ("mixed")
    # and only reported when even that fails. Text too long to be a timestamp is not
    # parsed at all: dateutil takes time quadratic in its length (400,000 digits: 5 s).
    if pd.api.types.is_string_dtype(raw):
        raw_text = raw.mask(raw.str.len() > _MAX_TIMESTAMP_CHARS)
    else:
        raw_text = raw
    try:
        with warnings.catch_warnings():
            # pandas' note that it parses cell by cell: how it parses, not a data problem
            warnings.filterwarnings("ignore", "Could not infer format", UserWarning)
            parsed = pd.to_datetime(raw_text, errors="coerce")
            if parsed.isna().any():
                parsed = pd.to_datetime(raw_text, errors="coerce", format="mixed")
    except (TypeError, ValueError) as err:
        # e.g. timestamps with different UTC offsets, which pandas refuses to mix
        reason = " ".join(str(err).split()).split(". ")[0]
        raise DataError(
            f"{source}: cannot parse column {quoted(column)} as timestamps ({reason}); write "
            "them all in one form, with the same UTC offset or none"
        ) from None
    bad = parsed.isna()
    if bad.any():
        label = raw.index[bad.argmax()]
        raise DataError(
            f"{source}: unparsable timestamp {quoted(raw[label])} in column {quoted(column)} at "
            f"{where(label)}; write it like 2016-07-01 00:00:00 (or pick another date_column)"
        )
    return parsed


def _parse_numbers(raw: pd.DataFrame, source: str | Path, where: Locator) -> np.ndarray:
    # pandas has already parsed the all-numeric columns (to_numeric leaves them as they
    # are); a column holding any text came back as text, and its cells are parsed here.
    numbers = raw.apply(pd.to_numeric, errors="coerce").astype("float64")
    # A cell is bad when it holds text that is not a number, or +-inf; empty/NaN cells
    # are missing values, handled by the NaN policy.
    bad = (numbers.isna() & raw.notna()) | np.isinf(numbers)
    if bad.all(axis=None):
        raise DataError(
            f"{source}: no numeric series columns ({listing(list(raw.columns))} hold "
            "text); the file needs a timestamp column and numeric columns"
        )
    if bad.any(axis=None):
        # the first bad cell in file order: earliest line, then leftmost column
        row_pos = int(bad.any(axis=1).to_numpy().argmax())
        col_pos = int(bad.iloc[row_pos].to_numpy().argmax())
        column, label = raw.columns[col_pos], raw.index[row_pos]
        if np.isinf(numbers.iat[row_pos, col_pos]):
            # pandas reads numbers beyond float64's range (1e400) as infinite too
            raise DataError(
                f"{source}: infinite value in column {quoted(column)} at {where(label)} (inf, or "
                "a number beyond ±1.8e308); give a finite number, or leave the cell empty "
                "and set nan_policy"
            )
        raise DataError(
            f"{source}: non-numeric value {quoted(raw.iat[row_pos, col_pos])} in column "
            f"{quoted(column)} at {where(label)}; fix the cell, leave it empty and set "
            "nan_policy, or drop the column"
        )
    return numbers.to_numpy()


def _fill_nans(frame: pd.DataFrame, source: str | Path, nan_policy: str) -> pd.DataFrame:
    counts = frame.isna().sum()
    counts = counts[counts > 0]
    if counts.empty:
        return frame
    if nan_policy == "error":
        listed = ", ".join(f"column {quoted(c)} ({n})" for c, n in counts.items())
        raise DataError(
            f"{source}: missing (NaN) values in {listed}; fill them in, or set "
            "nan_policy=ffill|interpolate"
        )
    if nan_policy == "interpolate":
        frame = frame.interpolate(method="time", limit_area="inside")
    frame = frame.ffill().bfill()
    empty = [c for c in frame.columns if frame[c].isna().all()]
    if empty:
        raise DataError(
            f"{source}: column {quoted(empty[0])} has no values at all, nothing to fill "
            "from; remove it"
        )
    return frame
