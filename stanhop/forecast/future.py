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
from stanhop.data.messages import line_of, listing, row_of
from stanhop.data.reading import read_header, read_table
from stanhop.data.validate import date_column_of

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


def read_future_table(
    data: str | Path | pd.DataFrame,
    columns: Sequence[str],
    date_column: str | None = None,
    sep: str = ",",
    decimal: str = ".",
) -> pd.DataFrame:
    """A table of future covariate values (a timestamp column and ``columns``), validated
    like a history; other columns are ignored."""
    raw, source, where = raw_table(data, sep, decimal)
    date = date_column_of([str(c) for c in raw.columns], date_column, source)
    keep = [date, *[c for c in columns if c in raw.columns]]
    return parse_wide_frame(raw[keep], source, date, "error", where=where)


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
