"""The layouts a history is read in: ``wide`` (a timestamp column and one column per
series) and ``long`` (``unique_id, ds, y``), from a CSV file or a DataFrame."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from stanhop.data import parse_long_frame, parse_wide_frame, read_long_csv, read_wide_csv
from stanhop.data.header import check_dialect
from stanhop.data.messages import line_of, row_of
from stanhop.data.reading import read_header, read_table
from stanhop.data.sources import table_layout
from stanhop.forecast.errors import ForecastError

History = str | Path | pd.DataFrame
# The name of a history given as a DataFrame, in messages.
FRAME_SOURCE = "DataFrame"


def source_of(data: History) -> str | Path:
    """The name of ``data`` in messages: its file, or :data:`FRAME_SOURCE`."""
    return FRAME_SOURCE if isinstance(data, pd.DataFrame) else data


def _wide(
    data: History,
    date_column: str | None,
    nan_policy: str,
    series: Sequence[str],
    last: int,
    sep: str = ",",
    decimal: str = ".",
    covariates: Sequence[str] = (),
) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        return read_wide_csv(data, date_column, nan_policy, series, last, sep, decimal)
    if isinstance(data.index, pd.DatetimeIndex):
        data = data.reset_index(names=data.index.name or "date")
    return parse_wide_frame(data, FRAME_SOURCE, date_column, nan_policy, series)


def _long(
    data: History,
    date_column: str | None,
    nan_policy: str,
    series: Sequence[str],
    last: int,
    sep: str = ",",
    decimal: str = ".",
    covariates: Sequence[str] = (),
) -> pd.DataFrame:
    # Always read whole: the rows of a timestamp need not be near each other (to_long
    # writes series after series), so the end of the file may hold a single series.
    if date_column is not None:
        raise ForecastError(
            f"date_column={date_column!r} applies to the wide format; the long format's "
            "timestamps are always in column 'ds'"
        )
    if not isinstance(data, pd.DataFrame):
        return read_long_csv(data, nan_policy, series, sep, decimal, covariates)
    return parse_long_frame(data, FRAME_SOURCE, nan_policy, series, covariates=covariates)


# Input layouts by name: each reads a file or a table in memory into the wide frame of
# stanhop.data.read_wide_csv, holding just the given series, in that order, and at least
# the last `last` rows of the data (a reader may skip those before, see read_wide_csv);
# three more, optional, are the separator and decimal mark of a CSV file and the extra
# columns of a long table to read as covariates.
Reader = Callable[..., pd.DataFrame]
INPUT_FORMATS: dict[str, Reader] = {
    "wide": _wide,
    "long": _long,
}


def check_format(format: str) -> None:
    """Raise :class:`ForecastError` unless ``format`` is one of :data:`INPUT_FORMATS`."""
    if format not in INPUT_FORMATS:
        raise ForecastError(
            f"unknown input format {format!r}; use one of {', '.join(INPUT_FORMATS)}"
        )


def layout_of(data: History, format: str, date_column: str | None, sep: str) -> str:
    """``wide`` or ``long``: ``format`` itself, or for ``auto`` what the columns of
    ``data`` (a frame, or a CSV file's header) say, as training decides."""
    if format != "auto":
        return format
    if isinstance(data, pd.DataFrame):
        return table_layout(format, [str(c) for c in data.columns], date_column, FRAME_SOURCE)
    path = Path(data)
    if not path.is_file():
        return "wide"  # its reader says the file is missing
    columns = read_header(path, check_dialect(sep, ".", path))
    return table_layout(format, columns, date_column, str(path))


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
