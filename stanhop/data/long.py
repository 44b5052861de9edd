"""Read and validate a long CSV, one observation per row: ``unique_id`` (the series),
``ds`` (the timestamp) and ``y`` (the value) — the layout of Nixtla's libraries — and
pivot it into the wide frame that :func:`~stanhop.data.read_wide_csv` returns."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from stanhop.data.errors import DataError
from stanhop.data.header import check_dialect
from stanhop.data.messages import Locator, line_of, listing, quoted, row_of
from stanhop.data.reading import read_header, read_table
from stanhop.data.validate import (
    check_nan_policy,
    fill_nans,
    parse_numbers,
    select_series,
    to_timestamps,
)

ID, TIME, VALUE = "unique_id", "ds", "y"
LONG_COLUMNS = (ID, TIME, VALUE)


def read_long_csv(
    path: str | Path,
    nan_policy: str = "error",
    series: Sequence[str] | None = None,
    sep: str = ",",
    decimal: str = ".",
) -> pd.DataFrame:
    """Read a long CSV with columns ``unique_id, ds, y`` (others are ignored) into a frame
    indexed by the sorted timestamps (index named ``ds``) with one float64 column per
    series. A series without a value at some timestamp has a missing value there, handled
    by ``nan_policy`` as in :func:`~stanhop.data.read_wide_csv`; ``series``, ``sep`` and
    ``decimal`` too."""
    check_nan_policy(nan_policy, path)
    path = Path(path)
    sep = check_dialect(sep, decimal, path)
    columns = read_header(path, sep)
    _check_columns(columns, path)
    # Every column is read (no usecols): only then does pandas refuse a row with more
    # fields than the header instead of shifting it.
    raw = read_table(path, dtype={ID: str, TIME: str}, sep=sep, decimal=decimal)
    return parse_long_frame(raw, path, nan_policy, series, where=line_of)


def parse_long_frame(
    raw: pd.DataFrame,
    source: str | Path,
    nan_policy: str = "error",
    series: Sequence[str] | None = None,
    where: Locator | None = None,
) -> pd.DataFrame:
    """:func:`read_long_csv` for a table already in memory; ``source`` names it in
    messages and ``where(label)`` locates a row (default: ``row <label>``)."""
    check_nan_policy(nan_policy, source)
    where = where or row_of
    raw = raw.set_axis([str(c) for c in raw.columns], axis=1)
    _check_columns(list(raw.columns), source)
    raw = raw[list(LONG_COLUMNS)].dropna(how="all")
    if raw.empty:
        raise DataError(f"{source}: no data rows, only a header; add the data rows")
    ids = raw[ID]
    if ids.isna().any():
        label = ids.index[ids.isna().argmax()]
        raise DataError(f"{source}: empty {ID} at {where(label)}; name the series of every row")
    ids = ids.astype(str)
    if series is not None:
        names = list(dict.fromkeys(ids))
        select_series(names, TIME, series, source)
        keep = ids.isin(set(series))
        raw, ids = raw[keep], ids[keep]
    else:
        series = list(dict.fromkeys(ids))
    stamps = to_timestamps(raw[TIME], source, TIME, where)
    values = parse_numbers(raw[[VALUE]], source, where)[:, 0]
    dup = pd.DataFrame({ID: ids, TIME: stamps}).duplicated()
    if dup.any():
        label = dup.index[dup.argmax()]
        raise DataError(
            f"{source}: series {quoted(ids[label])} has timestamp "
            f"{quoted(raw.at[label, TIME])} twice (again at {where(label)}); keep one row per "
            "series and timestamp"
        )
    long = pd.DataFrame({ID: ids.to_numpy(), TIME: stamps.to_numpy(), VALUE: values})
    frame = long.pivot(index=TIME, columns=ID, values=VALUE).sort_index()
    frame = frame.reindex(columns=list(series)).astype("float64")
    frame.columns.name = None
    frame.index = pd.DatetimeIndex(frame.index, name=TIME)
    return fill_nans(frame, source, nan_policy)


def to_long(frame: pd.DataFrame) -> pd.DataFrame:
    """The long table ``unique_id, ds, y`` of a wide frame (series after series, each in
    time order): the inverse of :func:`parse_long_frame`."""
    wide = frame.rename_axis(index=TIME).reset_index()
    return wide.melt(id_vars=TIME, var_name=ID, value_name=VALUE)[list(LONG_COLUMNS)]


def _check_columns(columns: Sequence[str], source: str | Path) -> None:
    missing = [c for c in LONG_COLUMNS if c not in columns]
    if missing:
        raise DataError(
            f"{source}: the long format needs columns {listing(LONG_COLUMNS)} but "
            f"{listing(missing)} are missing (the columns are {listing(list(columns))}); "
            "for one column per series use the wide format"
        )
