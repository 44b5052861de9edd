"""Validating a raw table into a clean frame: the timestamp column, the series wanted,
timestamps present, unique and in order, finite numbers, and the NaN policy."""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from stanhop.data.errors import DataError, DataNote, DataWarning
from stanhop.data.header import how_to_set, looks_like_decimal_comma
from stanhop.data.messages import Locator, listing, quoted

NAN_POLICIES = ("error", "ffill", "interpolate")
# The key of a filled frame's attrs that holds, per series, the positions of its filled rows.
FILLED = "filled_rows"
# Longer text is no timestamp (the longest ISO form, with nanoseconds and an offset, has 35).
MAX_TIMESTAMP_CHARS = 100
# A date of two numbers, then the year: 13/01/2024, 01.02.24 (day or month first).
NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-]\d{2,4}(?:[\sT]|$)")


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
            f"{source}: missing series column(s) {listing(missing)}{_near_misses(missing, columns)}"
            f"; the data needs all {len(series)} of {listing(series)} (matched by name, in any "
            "order)"
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


def _near_misses(missing: Sequence[str], columns: Sequence[str]) -> str:
    """`` (the data has 'ot' for 'OT', …; rename them)`` for the missing names that a column
    spells otherwise only in case or surrounding spaces; empty when none does."""
    spelled = {str(c).strip().casefold(): str(c) for c in columns}
    pairs = [(spelled[m.strip().casefold()], m) for m in missing if m.strip().casefold() in spelled]
    if not pairs:
        return ""
    shown = ", ".join(f"{quoted(have)} for {quoted(want)}" for have, want in pairs[:3])
    return f" (the data has {shown}: names must match exactly, case included; rename them)"


def wide_columns(
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


def date_column_of(columns: Sequence[str], date_column: str | None, source: str | Path) -> str:
    """The timestamp column: ``date_column`` after checking it exists, else the first."""
    if date_column is None:
        return str(columns[0])
    if date_column not in columns:
        raise DataError(
            f"{source}: no column {quoted(date_column)}; the columns are {listing(columns)} — set "
            "date_column to one of them"
        )
    return date_column


def unnamed(column: str) -> bool:
    """Whether ``column`` is the first column of a header that does not name it (pandas
    calls it ``Unnamed: 0``)."""
    return column in ("", "Unnamed: 0")


def drop_row_numbers(raw: pd.DataFrame, source: str | Path) -> pd.DataFrame:
    """``raw`` without its first column when that column has no name and holds only whole
    numbers: the row numbers ``DataFrame.to_csv(path)`` writes by default, which would
    otherwise be read as the timestamps (1000 as the year 1000). Warns, naming it."""
    name = str(raw.columns[0])
    if raw.shape[1] < 3 or not unnamed(name):
        return raw
    cells = raw.iloc[:, 0].dropna()
    text = cells.astype(str).str.strip()
    if cells.empty or not text.str.fullmatch(r"[-+]?\d+").all():
        return raw
    warnings.warn(
        f"{source}: ignoring the first column {quoted(name)}: it has no name and holds row "
        f"numbers ({text.iloc[0]}, …), the index DataFrame.to_csv writes, so the timestamps "
        f"are taken from column {quoted(str(raw.columns[1]))}; write the file with "
        "to_csv(path, index=False), or name the timestamp column with date_column",
        DataWarning,
        stacklevel=3,
    )
    return raw.iloc[:, 1:]


def parse_timestamps(
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
        raw_text = raw.mask(raw.str.len() > MAX_TIMESTAMP_CHARS)
    else:
        raw_text = raw
    example = day_first_example(raw_text)
    if example is not None:
        warnings.warn(
            f"{source}: the dates in column {quoted(column)} are read day first, as "
            f"{quoted(example)} shows (its first number is no month); write them as "
            "2024-01-13 to be sure",
            DataNote,
            stacklevel=4,
        )
    dayfirst = example is not None
    try:
        with warnings.catch_warnings():
            # pandas' note that it parses cell by cell: how it parses, not a data problem
            warnings.filterwarnings("ignore", "Could not infer format", UserWarning)
            parsed = pd.to_datetime(raw_text, errors="coerce", dayfirst=dayfirst)
            if parsed.isna().any():
                parsed = pd.to_datetime(
                    raw_text, errors="coerce", format="mixed", dayfirst=dayfirst
                )
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


def day_first_example(raw: pd.Series) -> str | None:
    """A cell showing that the dates of ``raw`` are written day first (13/01/2024: its
    first number is over 12, and no cell's second number is), else ``None``. pandas would
    read such a column month first wherever it can (01/02/2024 as 2 January), mixing the
    two readings."""
    if not pd.api.types.is_string_dtype(raw):
        return None
    parts = raw.str.extract(NUMERIC_DATE).apply(pd.to_numeric)
    if parts[0].isna().all() or (parts[1] > 12).any() or not (parts[0] > 12).any():
        return None
    return str(raw[parts[0] > 12].iloc[0])


def parse_numbers(raw: pd.DataFrame, source: str | Path, where: Locator) -> np.ndarray:
    """The values of ``raw`` as float64; text that is no number, or an infinite value, is
    a :class:`DataError` that names its cell."""
    # pandas has already parsed the all-numeric columns (to_numeric leaves them as they
    # are); a column holding any text came back as text, and its cells are parsed here.
    numbers = raw.apply(pd.to_numeric, errors="coerce").astype("float64")
    # A cell is bad when it holds text that is not a number, or +-inf; empty/NaN cells
    # are missing values, handled by the NaN policy.
    bad = (numbers.isna() & raw.notna()) | np.isinf(numbers)
    if bad.all(axis=None):
        raise DataError(
            f"{source}: no numeric series columns ({listing(list(raw.columns))} hold "
            f"text); the {'file' if isinstance(source, Path) else 'table'} needs a timestamp "
            "column and numeric columns"
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
        cell = raw.iat[row_pos, col_pos]
        if looks_like_decimal_comma(cell):
            # a file is read with a decimal mark; a frame in memory is taken as it is
            fix = (
                f"pass decimal=',' ({how_to_set('decimal', ',')})"
                if isinstance(source, Path)
                else f"convert the column first: df[{column!r}].str.replace(',', '.').astype(float)"
            )
            raise DataError(
                f"{source}: non-numeric value {quoted(cell)} in column {quoted(column)} at "
                f"{where(label)}, a number with a decimal comma; {fix}"
            )
        raise DataError(
            f"{source}: non-numeric value {quoted(cell)} in column "
            f"{quoted(column)} at {where(label)}; fix the cell, leave it empty and set "
            "nan_policy, or drop the column"
        )
    return numbers.to_numpy()


def fill_nans(frame: pd.DataFrame, source: str | Path, nan_policy: str) -> pd.DataFrame:
    """``frame`` with its NaNs handled as ``nan_policy`` says (see :data:`NAN_POLICIES`)."""
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
    missing = frame.isna()
    if nan_policy == "interpolate":
        frame = frame.interpolate(method="time", limit_area="inside")
    frame = frame.ffill().bfill()
    # Which rows of each series were filled, for a reader of the result to count those in
    # the rows it uses (tuples, which pandas can compare when it carries attrs along).
    frame.attrs[FILLED] = {
        str(c): tuple(int(i) for i in np.flatnonzero(missing[c])) for c in counts.index
    }
    empty = [c for c in frame.columns if frame[c].isna().all()]
    if empty:
        raise DataError(
            f"{source}: column {quoted(empty[0])} has no values at all, nothing to fill "
            "from; remove it"
        )
    return frame
