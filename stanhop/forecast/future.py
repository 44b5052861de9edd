"""What a forecast knows about the horizon: the calendar features of its timestamps and
the values of the model's future covariates, taken from a separate table or from the
rows of the history beyond its last target value."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from stanhop.data import DataError, Scaler, parse_wide_frame
from stanhop.data.calendar import calendar_features
from stanhop.data.header import check_dialect
from stanhop.data.messages import line_of, listing, quoted, row_of
from stanhop.data.reading import read_header, read_table

# The name of a table given as a DataFrame, in messages.
FRAME_SOURCE = "DataFrame"


def raw_table(
    data: str | Path | pd.DataFrame, sep: str = ",", decimal: str = "."
) -> tuple[pd.DataFrame, str | Path, object]:
    """A wide table as read, before validation: (raw cells, its name in messages, the
    locator of its rows)."""
    if isinstance(data, pd.DataFrame):
        if isinstance(data.index, pd.DatetimeIndex):
            data = data.reset_index(names=data.index.name or "date")
        return data.reset_index(drop=True), FRAME_SOURCE, row_of
    path = Path(data)
    sep = check_dialect(sep, decimal, path)
    columns = read_header(path, sep)
    # Timestamps stay text until parsed (pandas would read "2020" as an integer).
    raw = read_table(path, dtype={columns[0]: str}, sep=sep, decimal=decimal)
    return raw, path, line_of


def split_trailing(raw: pd.DataFrame, targets: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows up to the last one with a target value, the rows after it): a history file
    may end with rows that hold only the future covariates' known values."""
    present = [t for t in targets if t in raw.columns]
    if not present:
        return raw, raw.iloc[:0]
    has_target = raw[present].notna().any(axis=1).to_numpy()
    last = int(np.flatnonzero(has_target)[-1]) + 1 if has_target.any() else len(raw)
    return raw.iloc[:last], raw.iloc[last:]


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


def known_features(
    stamps: pd.DatetimeIndex,
    calendar: Sequence[str],
    future: Sequence[str],
    values: np.ndarray,
    scaler: Scaler,
    series_names: Sequence[str],
) -> np.ndarray:
    """The model's future input (out_len, f): calendar features of ``stamps``, then the
    future covariates' ``values`` (out_len, v) standardised as in training."""
    columns = [list(series_names).index(c) for c in future]
    scaled = (values - scaler.mean[columns]) / scaler.std[columns]
    return np.concatenate([calendar_features(stamps, calendar), scaled], axis=1)
