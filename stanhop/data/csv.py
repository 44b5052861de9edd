"""Read and validate wide CSVs: a timestamp column, then one column per series. Reading
is :mod:`~stanhop.data.reading`, validation :mod:`~stanhop.data.validate`."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

import stanhop.data.reading as reading
from stanhop.data.errors import DataError, DataWarning
from stanhop.data.header import check_dialect
from stanhop.data.messages import Locator, line_of, quoted, row_of
from stanhop.data.validate import (
    check_nan_policy,
    date_column_of,
    drop_row_numbers,
    fill_nans,
    parse_numbers,
    parse_timestamps,
    unnamed,
    wide_columns,
)


def read_wide_csv(
    path: str | Path,
    date_column: str | None = None,
    nan_policy: str = "error",
    series: Sequence[str] | None = None,
    last: int | None = None,
    sep: str = ",",
    decimal: str = ".",
) -> pd.DataFrame:
    """Read ``path`` into a frame with a sorted ``DatetimeIndex`` (named after the date
    column) and one float64 column per series, in file order.

    ``date_column`` defaults to the first column (the second when the first has no name
    and holds whole numbers, pandas' row numbers, which are dropped with a
    :class:`DataWarning`). ``nan_policy`` says what to do with
    empty or NaN cells: ``error`` (default), ``ffill`` (forward fill, then backward fill
    for leading gaps) or ``interpolate`` (linear in time, edges filled like ``ffill``).
    ``series``, when given, names the columns to keep, in the order wanted: missing ones
    are an error that names them, other columns are dropped (with a :class:`DataWarning`
    naming them). Every row must have at most as many fields as the header, whichever
    columns are kept.

    ``last``, when given, says that only the last ``last`` rows are wanted: a file of at
    least :data:`~stanhop.data.reading.TAIL_MIN_BYTES` is then read from its end (the header
    line, then blocks backwards from the end until ``last`` rows are complete, empty lines
    not counted), in memory
    that does not grow with the file. Only the rows read are validated (a bad cell further
    up goes unnoticed); they come out as from a full read, and their problems are reported
    with the same messages and line numbers. Where the end cannot be parsed on its own (a
    quoted field, which may span lines; a first row with an empty cell, which the NaN policy
    may fill from the rows above; odd line ends or bytes) the whole file is read, and the
    frame holds it all.

    ``sep`` separates the columns (one character; ``\\t`` or ``tab`` for tabs) and
    ``decimal`` marks the decimals (``,`` for ``1,5``). A header that repeats a name, or
    that reads as one column because the file uses another separator, is an error that
    says so.
    """
    check_nan_policy(nan_policy, path)
    path = Path(path)
    sep = check_dialect(sep, decimal, path)
    columns = reading.read_header(path, sep)
    stamps = date_column_of(columns, date_column, path)  # or row numbers, then the stamps
    keep = None
    if series is not None:
        # Checked before the file is read; parse_wide_frame warns about the other columns.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            keep = wide_columns(columns, stamps, series, path)
        if date_column is None and unnamed(columns[0]):
            keep = list(dict.fromkeys([*columns[:2], *keep]))
    # Timestamps stay text until parsed below (pandas would read "2020" as an integer).
    # Every column is read, even those not kept: only then does pandas refuse a row with
    # more fields than the header, as the training's read of the same file does.
    options = {"dtype": {stamps: str}, "sep": sep, "decimal": decimal}
    tail = reading.read_tail(path, last, keep, **options) if last is not None else None
    raw, where = tail or (reading.read_table(path, **options), line_of)
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
    where = where or row_of
    columns = [str(c) for c in raw.columns]
    if not columns:
        raise DataError(f"{source}: no columns; the data needs a timestamp column and series")
    repeated = pd.Index(columns)[pd.Index(columns).duplicated()]
    if len(repeated):
        raise DataError(
            f"{source}: column name {quoted(repeated[0])} appears more than once; give every "
            "column its own name"
        )
    raw = raw.set_axis(columns, axis=1)
    if date_column is None:
        raw = drop_row_numbers(raw, source)
        columns = list(raw.columns)
    date_column = date_column_of(columns, date_column, source)
    if series is not None:
        raw = raw[wide_columns(columns, date_column, series, source)]
    raw = raw.dropna(how="all")
    if raw.empty:
        raise DataError(f"{source}: no data rows, only a header; add the data rows")
    if raw.shape[1] < 2:
        raise DataError(
            f"{source}: no series columns besides {quoted(date_column)}; the file needs a "
            "timestamp column and at least one numeric column, separated by commas"
        )
    names = [c for c in raw.columns if c != date_column]
    index = parse_timestamps(raw[date_column], source, date_column, where)
    values = parse_numbers(raw[names], source, where)
    frame = pd.DataFrame(values, index=index, columns=names)
    return fill_nans(frame, source, nan_policy)
