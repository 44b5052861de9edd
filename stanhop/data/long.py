"""Read and validate a long CSV, one observation per row: ``unique_id`` (the series),
``ds`` (the timestamp) and ``y`` (the value) — the layout of Nixtla's libraries — and
pivot it into the wide frame that :func:`~stanhop.data.read_wide_csv` returns."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from stanhop.data.errors import DataError, DataWarning
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
# frame.attrs key: the columns of a pivoted long table that were covariate columns, which
# a model trained on it reads but does not forecast unless targets say otherwise.
COVARIATE_COLUMNS = "covariate_columns"


def read_long_csv(
    path: str | Path,
    nan_policy: str = "error",
    series: Sequence[str] | None = None,
    sep: str = ",",
    decimal: str = ".",
    covariates: Sequence[str] = (),
) -> pd.DataFrame:
    """Read a long CSV with columns ``unique_id, ds, y`` (others are ignored) into a frame
    indexed by the sorted timestamps (index named ``ds``) with one float64 column per
    series. A series without a value at some timestamp has a missing value there, handled
    by ``nan_policy`` as in :func:`~stanhop.data.read_wide_csv`; ``series``, ``sep`` and
    ``decimal`` too. Extra columns: see :func:`parse_long_frame`."""
    check_nan_policy(nan_policy, path)
    path = Path(path)
    sep = check_dialect(sep, decimal, path)
    columns = read_header(path, sep)
    _check_columns(columns, path)
    # Every column is read (no usecols): only then does pandas refuse a row with more
    # fields than the header instead of shifting it.
    raw = read_table(path, dtype={ID: str, TIME: str}, sep=sep, decimal=decimal)
    return parse_long_frame(raw, path, nan_policy, series, where=line_of, covariates=covariates)


def parse_long_frame(
    raw: pd.DataFrame,
    source: str | Path,
    nan_policy: str = "error",
    series: Sequence[str] | None = None,
    where: Locator | None = None,
    covariates: Sequence[str] = (),
) -> pd.DataFrame:
    """:func:`read_long_csv` for a table already in memory; ``source`` names it in
    messages and ``where(label)`` locates a row (default: ``row <label>``).

    Columns besides ``unique_id, ds, y`` named in ``covariates`` become columns of the
    wide frame, after the series: a covariate shared by every series (a temperature, a
    price index), with one value per timestamp. Extra columns not named are dropped with
    a :class:`~stanhop.data.DataWarning` that says how to use them. A series that starts
    later than the others gets a warning when ``nan_policy`` fills its first rows."""
    check_nan_policy(nan_policy, source)
    where = where or row_of
    raw = raw.set_axis([str(c) for c in raw.columns], axis=1)
    _check_columns(list(raw.columns), source)
    named = _named_covariates(list(raw.columns), covariates, source)
    # over every row, other series' too: a covariate is one value per timestamp
    shared = (
        _shared_values(raw[named], to_timestamps(raw[TIME], source, TIME, where), source, where)
        if named
        else None
    )
    raw = raw[list(LONG_COLUMNS)].dropna(how="all")
    if raw.empty:
        raise DataError(f"{source}: no data rows, only a header; add the data rows")
    ids = raw[ID]
    if ids.isna().any():
        label = ids.index[ids.isna().argmax()]
        raise DataError(f"{source}: empty {ID} at {where(label)}; name the series of every row")
    ids = ids.astype(str)
    wanted = None if series is None else [s for s in series if s not in named]
    if wanted is not None:
        names = list(dict.fromkeys(ids))
        select_series(names, TIME, wanted, source)
        keep = ids.isin(set(wanted))
        raw, ids = raw[keep], ids[keep]
    else:
        wanted = list(dict.fromkeys(ids))
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
    frame = frame.reindex(columns=wanted).astype("float64")
    frame.columns.name = None
    frame.index = pd.DatetimeIndex(frame.index, name=TIME)
    if shared is not None:
        frame = frame.join(shared.reindex(frame.index))
        frame = frame[list(series)] if series is not None else frame
    if nan_policy != "error":
        _warn_late_starts(frame, source)
    frame = fill_nans(frame, source, nan_policy)
    # which columns came from covariate columns, not from series (see COVARIATE_COLUMNS)
    frame.attrs[COVARIATE_COLUMNS] = named
    return frame


def _named_covariates(
    columns: Sequence[str], covariates: Sequence[str], source: str | Path
) -> list[str]:
    """The extra columns named in ``covariates``; a warning names those left out."""
    extra = [c for c in columns if c not in LONG_COLUMNS]
    unused = [c for c in extra if c not in covariates]
    if unused:
        warnings.warn(
            f"{source}: the column(s) {listing(unused)} of the long table are not used; name "
            "those known over the horizon as covariates (data.future, fit(future=[...])) or "
            "drop them",
            DataWarning,
            stacklevel=3,
        )
    return [c for c in covariates if c in extra]


def _shared_values(
    raw: pd.DataFrame, stamps: pd.Series, source: str | Path, where: Locator
) -> pd.DataFrame:
    """The covariate columns ``raw`` of rows stamped ``stamps``, one value per
    timestamp (a frame indexed by timestamp); a :class:`DataError` for a covariate whose
    value differs between series at one timestamp."""
    named = list(raw.columns)
    values = pd.DataFrame(parse_numbers(raw, source, where), columns=named)
    values[TIME] = stamps.to_numpy()
    spread = values.groupby(TIME)[named].agg(lambda v: v.max() - v.min())
    varies = [c for c in named if (spread[c].fillna(0) > 0).any()]
    if varies:
        raise DataError(
            f"{source}: covariate {quoted(varies[0])} differs between series at the same "
            "timestamp; a long table's covariate is shared by every series (one value per "
            "timestamp): give per-series covariates as a wide table, one column each"
        )
    return values.groupby(TIME)[named].first()


def _warn_late_starts(frame: pd.DataFrame, source: str | Path) -> None:
    """A warning for each series whose values begin after the table's first timestamp:
    filling repeats its first value back over the rows before it."""
    for name in frame.columns:
        first = frame[name].first_valid_index()
        if first is not None and first > frame.index[0]:
            late = int(frame.index.get_loc(first))
            warnings.warn(
                f"{source}: series {quoted(name)} starts {late} row(s) after the others (at "
                f"{first}); its first value is repeated back to {frame.index[0]}, which the "
                "model reads as history: trim the table to where every series has values",
                DataWarning,
                stacklevel=4,
            )


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
