"""Read and validate a wide CSV: one timestamp column plus one numeric column per series.

Every problem is reported as a :class:`DataError` naming the file and, where it helps,
the column and the line (line 1 is the header, so the first data row is line 2).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import numpy as np
import pandas as pd

from stanhop.data.errors import DataError

NAN_POLICIES = ("error", "ffill", "interpolate")


def read_wide_csv(
    path: str | Path, date_column: str | None = None, nan_policy: str = "error"
) -> pd.DataFrame:
    """Read ``path`` into a frame with a sorted ``DatetimeIndex`` (named after the date
    column) and one float64 column per series, in file order.

    ``date_column`` defaults to the first column. ``nan_policy`` says what to do with
    empty or NaN cells: ``error`` (default), ``ffill`` (forward fill, then backward fill
    for leading gaps) or ``interpolate`` (linear in time, edges filled like ``ffill``).
    """
    if nan_policy not in NAN_POLICIES:
        raise DataError(
            f"{path}: unknown nan_policy {nan_policy!r}; use one of {', '.join(NAN_POLICIES)}"
        )
    path = Path(path)
    columns = _read(path, nrows=0).columns
    if date_column is None:
        date_column = str(columns[0])
    elif date_column not in columns:
        listed = ", ".join(map(repr, columns))
        raise DataError(
            f"{path}: no column {date_column!r}; the columns are {listed} — set "
            "date_column to one of them"
        )
    # Timestamps stay text until parsed below (pandas would read "2020" as an integer).
    raw = _read(path, dtype={date_column: str}).dropna(how="all")
    if raw.empty:
        raise DataError(f"{path}: the file has a header but no data rows")
    if raw.shape[1] < 2:
        raise DataError(
            f"{path}: no series columns besides {date_column!r}; the file needs a timestamp "
            "column and at least one numeric column, separated by commas"
        )
    series = [c for c in raw.columns if c != date_column]
    index = _parse_timestamps(raw[date_column], path, date_column)
    values = _parse_numbers(raw[series], path)
    frame = pd.DataFrame(values, index=index, columns=series)
    return _fill_nans(frame, path, nan_policy)


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
    """``pd.read_csv`` with its failures as DataErrors. Blank lines are kept as all-NaN
    rows (the caller drops them) so that row label i is line i + 2 of the file."""
    if not path.is_file():
        raise DataError(
            f"{path}: file not found; check the path (relative paths start at "
            "the directory you run from)"
        )
    try:
        return pd.read_csv(path, skip_blank_lines=False, **kwargs)
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{path}: the file is empty; it needs a header line and data rows"
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        reason = " ".join(str(err).split())
        raise DataError(f"{path}: not a readable CSV ({reason})") from None


def _line(label: int) -> int:
    """The line in the file of the row labelled ``label`` (the header is line 1)."""
    return label + 2


def _parse_timestamps(raw: pd.Series, path: str | Path, column: str) -> pd.DatetimeIndex:
    missing = raw.isna()
    if missing.any():
        line = _line(raw.index[missing.argmax()])
        raise DataError(f"{path}: empty timestamp in column {column!r} at line {line}; fill it in")
    # pandas guesses one format from the first value and applies it to all; values that
    # do not fit that format come back as NaT, so they are retried one by one ("mixed")
    # and only reported when even that fails.
    try:
        parsed = pd.to_datetime(raw, errors="coerce")
        if parsed.isna().any():
            parsed = pd.to_datetime(raw, errors="coerce", format="mixed")
    except (TypeError, ValueError) as err:
        # e.g. timestamps with different UTC offsets, which pandas refuses to mix
        reason = " ".join(str(err).split())
        raise DataError(
            f"{path}: cannot parse column {column!r} as timestamps ({reason})"
        ) from None
    bad = parsed.isna()
    if bad.any():
        label = raw.index[bad.argmax()]
        raise DataError(
            f"{path}: unparsable timestamp {raw[label]!r} in column {column!r} at line "
            f"{_line(label)}; write it like 2016-07-01 00:00:00 (or pick another date_column)"
        )
    dup = parsed.duplicated()
    if dup.any():
        label = parsed.index[dup.argmax()]
        raise DataError(
            f"{path}: duplicate timestamp {raw[label]!r} at line {_line(label)}; each "
            "timestamp must appear once — remove or merge the repeated rows"
        )
    backwards = parsed.diff() < pd.Timedelta(0)
    if backwards.any():
        label = parsed.index[backwards.argmax()]
        raise DataError(
            f"{path}: timestamps are not sorted: line {_line(label)} ({raw[label]!r}) is "
            "earlier than the line above it; sort the file by time"
        )
    return pd.DatetimeIndex(parsed, name=column)


def _parse_numbers(raw: pd.DataFrame, path: str | Path) -> np.ndarray:
    # pandas has already parsed the all-numeric columns (to_numeric leaves them as they
    # are); a column holding any text came back as text, and its cells are parsed here.
    numbers = raw.apply(pd.to_numeric, errors="coerce").astype("float64")
    # A cell is bad when it holds text that is not a number, or +-inf; empty/NaN cells
    # are missing values, handled by the NaN policy.
    bad = (numbers.isna() & raw.notna()) | np.isinf(numbers)
    if bad.all(axis=None):
        raise DataError(
            f"{path}: no numeric series columns ({', '.join(map(repr, raw.columns))} hold "
            "text); the file needs a timestamp column and numeric columns"
        )
    if bad.any(axis=None):
        # the first bad cell in file order: earliest line, then leftmost column
        row_pos = int(bad.any(axis=1).to_numpy().argmax())
        col_pos = int(bad.iloc[row_pos].to_numpy().argmax())
        column, label = raw.columns[col_pos], raw.index[row_pos]
        raise DataError(
            f"{path}: non-numeric value {raw.iat[row_pos, col_pos]!r} in column {column!r} at "
            f"line {_line(label)}; fix the cell, leave it empty and set nan_policy, or drop "
            "the column"
        )
    return numbers.to_numpy()


def _fill_nans(frame: pd.DataFrame, path: str | Path, nan_policy: str) -> pd.DataFrame:
    counts = frame.isna().sum()
    counts = counts[counts > 0]
    if counts.empty:
        return frame
    if nan_policy == "error":
        listed = ", ".join(f"column {c!r} ({n})" for c, n in counts.items())
        raise DataError(
            f"{path}: missing (NaN) values in {listed}; fill them in, or set "
            "nan_policy=ffill|interpolate"
        )
    if nan_policy == "interpolate":
        frame = frame.interpolate(method="time", limit_area="inside")
    frame = frame.ffill().bfill()
    empty = [c for c in frame.columns if frame[c].isna().all()]
    if empty:
        raise DataError(
            f"{path}: column {empty[0]!r} has no values at all, nothing to fill from; remove it"
        )
    return frame
