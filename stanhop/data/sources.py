"""Where a datamodule's frame comes from: a CSV file, a standard benchmark, or the
synthetic generator. Each source has a ``name`` (used in error messages), a default
``split``, ``prepare()`` (fetch once, before training) and ``load()``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from stanhop.data.benchmarks import get_benchmark
from stanhop.data.csv import parse_wide_frame, read_wide_csv
from stanhop.data.download import download
from stanhop.data.errors import DataError
from stanhop.data.header import check_dialect
from stanhop.data.long import LONG_COLUMNS, parse_long_frame, read_long_csv
from stanhop.data.reading import read_header
from stanhop.data.splits import Split
from stanhop.data.synthetic import make_synthetic, recurring_event_rows
from stanhop.data.validate import check_nan_policy

DEFAULT_SPLIT = Split(0.7, 0.1, 0.2)


class Source(Protocol):
    """What :class:`~stanhop.data.TimeSeriesDataModule` needs from a source."""

    name: str
    split: Split

    def prepare(self) -> None:
        """Make ``load`` possible (download); called once, on one process."""

    def load(self) -> pd.DataFrame:
        """A frame as :func:`~stanhop.data.read_wide_csv` returns it."""


# Table layouts: one column per series (wide), or one observation per row (long:
# unique_id, ds, y); auto takes long when the table has those three columns.
FORMATS = ("auto", "wide", "long")


def table_layout(format: str, columns: list[str], date_column: str | None, name: str) -> str:
    """The layout of a table with ``columns`` (see :data:`FORMATS`)."""
    if format not in FORMATS:
        raise DataError(f"{name}: data.format={format!r}; use one of {', '.join(FORMATS)}")
    if format == "auto":
        format = "long" if all(c in columns for c in LONG_COLUMNS) else "wide"
    if format == "long" and date_column is not None:
        raise DataError(
            f"{name}: data.date_column applies to the wide layout; the long layout's "
            "timestamps are always in column 'ds'"
        )
    return format


class CSVSource:
    """A CSV file of the user's, wide (see :func:`~stanhop.data.read_wide_csv`, also for
    ``sep`` and ``decimal``) or long (``unique_id, ds, y``, see
    :func:`~stanhop.data.read_long_csv`) as ``format`` says; split 70/10/20 % unless
    ``split`` says otherwise."""

    def __init__(
        self,
        path: str | Path,
        date_column: str | None = None,
        nan_policy: str = "error",
        split: Split | Mapping[str, float] | None = None,
        sep: str = ",",
        decimal: str = ".",
        format: str = "auto",
        covariates: Sequence[str] = (),
    ) -> None:
        self.path = Path(path)
        # extra columns of a long table to read (see parse_long_frame)
        self.covariates = list(covariates)
        self.name = str(self.path)
        self.date_column, self.nan_policy = date_column, nan_policy
        self.sep, self.decimal, self.format = sep, decimal, format
        self.split = DEFAULT_SPLIT if split is None else Split.parse(split)

    def prepare(self) -> None:
        """Nothing to fetch."""

    def load(self) -> pd.DataFrame:
        # The checks in read_wide_csv's order, so a file read here stops at the same first
        # mistake as when read_wide_csv reads it.
        check_nan_policy(self.nan_policy, self.path)
        columns = read_header(self.path, check_dialect(self.sep, self.decimal, self.path))
        if table_layout(self.format, columns, self.date_column, self.name) == "long":
            return read_long_csv(
                self.path,
                self.nan_policy,
                sep=self.sep,
                decimal=self.decimal,
                covariates=self.covariates,
            )
        return read_wide_csv(
            self.path, self.date_column, self.nan_policy, sep=self.sep, decimal=self.decimal
        )


class FrameSource:
    """A pandas DataFrame, validated as a CSV file would be: wide (a timestamp column, or a
    DatetimeIndex, and one column per series) or long (``unique_id, ds, y``), as
    ``format`` says; split 70/10/20 % unless ``split`` says otherwise."""

    def __init__(
        self,
        frame: pd.DataFrame,
        date_column: str | None = None,
        nan_policy: str = "error",
        split: Split | Mapping[str, float] | None = None,
        format: str = "auto",
        name: str = "DataFrame",
        covariates: Sequence[str] = (),
    ) -> None:
        if not isinstance(frame, pd.DataFrame):
            raise DataError(f"expected a pandas DataFrame, got {type(frame).__name__}")
        self.frame, self.name = frame, name
        self.date_column, self.nan_policy, self.format = date_column, nan_policy, format
        self.split = DEFAULT_SPLIT if split is None else Split.parse(split)
        # extra columns of a long table to read (see parse_long_frame)
        self.covariates = list(covariates)

    def prepare(self) -> None:
        """Nothing to fetch."""

    def load(self) -> pd.DataFrame:
        frame = self.frame
        columns = [str(c) for c in frame.columns]
        if table_layout(self.format, columns, self.date_column, self.name) == "long":
            return parse_long_frame(frame, self.name, self.nan_policy, covariates=self.covariates)
        if isinstance(frame.index, pd.DatetimeIndex):
            frame = frame.reset_index(names=frame.index.name or "date")
        return parse_wide_frame(frame, self.name, self.date_column, self.nan_policy)


class BenchmarkSource:
    """A standard benchmark (``etth1``, ``wth``, …; see
    :data:`~stanhop.data.BENCHMARKS`), downloaded into ``root`` on first use, with its
    standard split."""

    def __init__(self, name: str, root: str | Path = "data") -> None:
        self.benchmark = get_benchmark(name)
        self.root = Path(root)
        self.name = str(self.root / self.benchmark.filename)
        self.split = self.benchmark.split

    def prepare(self) -> None:
        download(self.benchmark.name, self.root)

    def load(self) -> pd.DataFrame:
        # download() returns at once when the file is there; calling it here too lets
        # setup() work without prepare_data(), as in a quick script or test.
        return read_wide_csv(download(self.benchmark.name, self.root))


class SyntheticSource:
    """Data from :func:`~stanhop.data.make_synthetic`; split 70/10/20 %.

    ``recurring_events`` and ``event_rate`` switch on and tune its recurring events;
    :meth:`event_rows` says which rows they cover.
    """

    def __init__(
        self,
        n_series: int = 7,
        n_steps: int = 24 * 7 * 26,
        seed: int = 0,
        recurring_events: int = 0,
        event_rate: float = 4.0,
    ) -> None:
        self.n_series, self.n_steps, self.seed = n_series, n_steps, seed
        self.recurring_events, self.event_rate = recurring_events, event_rate
        self.name = f"synthetic(n_series={n_series}, n_steps={n_steps}, seed={seed})"
        self.split = DEFAULT_SPLIT

    def prepare(self) -> None:
        """Nothing to fetch."""

    def load(self) -> pd.DataFrame:
        return make_synthetic(
            self.n_series,
            self.n_steps,
            self.seed,
            recurring_events=self.recurring_events,
            event_rate=self.event_rate,
        )

    def event_rows(self) -> np.ndarray:
        """``(n_steps,)`` bool: the rows of :meth:`load` a recurring event covers."""
        return recurring_event_rows(
            self.n_series, self.n_steps, self.seed, self.recurring_events, self.event_rate
        )
