"""The values a forecast knows of the model's future covariates over the horizon, taken
from a separate table or from the rows of the history beyond its last target value."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from stanhop.data import DataError, parse_wide_frame
from stanhop.data.messages import listing, quoted
from stanhop.forecast.errors import ForecastError
from stanhop.forecast.formats import History, raw_table, source_of, split_trailing


def future_values(
    table: pd.DataFrame,
    columns: Sequence[str],
    stamps: pd.DatetimeIndex,
    source: str | Path,
    where: str,
) -> np.ndarray:
    """The values of ``columns`` at ``stamps`` (out_len, v) from a validated wide frame
    ``table``; a one-line :class:`DataError` naming what is missing."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataError(
            f"{source}: the model needs the future values of {listing(missing)} for the "
            f"{len(stamps)} steps from {stamps[0]} to {stamps[-1]}, and {where} has no such "
            "column; add it"
        )
    if (table.index.tz is None) != (stamps.tz is None):
        raise DataError(
            f"{source}: the history's timestamps {_zone(stamps)} but the future values' "
            f"{_zone(table.index)}; write both with a time zone (a UTC offset such as "
            "+01:00) or both without"
        )
    if stamps.tz is not None:
        table = table.tz_convert(stamps.tz)  # the same instants, in the history's zone
    rows = table.reindex(stamps)[list(columns)]
    absent = rows.index[rows.isna().any(axis=1)]
    if len(absent):
        raise DataError(
            f"{source}: the model needs the future values of {listing(list(columns))} for the "
            f"{len(stamps)} steps from {stamps[0]} to {stamps[-1]}, but {where} lacks "
            f"{len(absent)} of them (the first at {absent[0]}); add those rows (in the "
            "history after its last target value, or in --future FILE)"
        )
    return rows.to_numpy(np.float64)


def _zone(index: pd.DatetimeIndex) -> str:
    return "carry no time zone" if index.tz is None else f"are in {index.tz}"


def read_future_table(
    data: str | Path | pd.DataFrame,
    columns: Sequence[str],
    date_column: str | None = None,
    sep: str = ",",
    decimal: str = ".",
) -> pd.DataFrame:
    """A table of future covariate values (a timestamp column and ``columns``), validated
    like a history; other columns are ignored. Its timestamps are in the column
    ``date_column`` (the history's) when it has one of that name, else in its first
    column that is not one of ``columns``, wherever that stands."""
    raw, source, where = raw_table(data, sep, decimal)
    names = [str(c) for c in raw.columns]
    missing = [c for c in columns if c not in names]
    if missing:
        lower = {n.lower(): n for n in names}
        renames = [
            f"{quoted(lower[c.lower()])} to {quoted(c)}" for c in missing if c.lower() in lower
        ]
        hint = f"; names match with their case: rename {', '.join(renames)}" if renames else ""
        raise DataError(
            f"{source}: no column {listing(missing)}, whose future values the model needs; "
            f"the columns are {listing(names)}{hint}"
        )
    date = future_date_column(names, columns, date_column, source)
    return parse_wide_frame(raw[[date, *columns]], source, date, "error", where=where)


def future_date_column(
    names: Sequence[str], columns: Sequence[str], date_column: str | None, source: str | Path
) -> str:
    """The timestamp column of a table of future values with the columns ``names``:
    ``date_column`` when it is among them, else the first that is not a future covariate
    (``columns``)."""
    if date_column in names:
        return date_column
    others = [n for n in names if n not in columns]
    if not others:
        raise DataError(
            f"{source}: no timestamp column besides the future covariates {listing(names)}; "
            "add one (the first column, by default)"
        )
    return others[0]


def read_future(
    data: History,
    table: History | None,
    columns: Sequence[str],
    targets: Sequence[str],
    date_column: str | None = None,
    sep: str = ",",
    decimal: str = ".",
    format: str = "wide",
) -> pd.DataFrame | None:
    """The known future values of a model's future covariates ``columns`` (None for a
    model without): the ``table`` (a CSV file or DataFrame with a timestamp column and
    those columns) when given, else the rows of the wide history ``data`` after its last
    value of the ``targets``."""
    if not columns:
        if table is not None:
            raise ForecastError(
                f"{source_of(table)}: the model takes no future covariate values (it was "
                "trained without data.future); leave out future= (--future)"
            )
        return None
    if table is not None:
        return read_future_table(table, columns, date_column, sep, decimal)
    if format != "wide":
        raise ForecastError(
            f"the model needs the future values of {', '.join(columns)}; give them "
            "as a wide table with --future FILE (future=...)"
        )
    raw, source, where = raw_table(data, sep, decimal)
    trailing = split_trailing(raw, targets)[1]
    date = date_column or str(raw.columns[0])
    keep = [date, *[c for c in columns if c in raw.columns]]
    if trailing.empty:
        return pd.DataFrame(columns=list(columns), index=pd.DatetimeIndex([]), dtype=float)
    return parse_wide_frame(trailing[keep], source, date, "error", where=where)
