"""Where a datamodule's frame comes from: a CSV file, a standard benchmark, or the
synthetic generator. Each source has a ``name`` (used in error messages), a default
``split``, ``prepare()`` (fetch once, before training) and ``load()``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from stanhop.data.benchmarks import get_benchmark
from stanhop.data.csv import read_wide_csv
from stanhop.data.download import download
from stanhop.data.splits import Split
from stanhop.data.synthetic import make_synthetic, recurring_event_rows

DEFAULT_SPLIT = Split(0.7, 0.1, 0.2)


class Source(Protocol):
    """What :class:`~stanhop.data.TimeSeriesDataModule` needs from a source."""

    name: str
    split: Split

    def prepare(self) -> None:
        """Make ``load`` possible (download); called once, on one process."""

    def load(self) -> pd.DataFrame:
        """A frame as :func:`~stanhop.data.read_wide_csv` returns it."""


class CSVSource:
    """A wide CSV file of the user's (see :func:`~stanhop.data.read_wide_csv`, also for
    ``sep`` and ``decimal``); split 70/10/20 % unless ``split`` says otherwise."""

    def __init__(
        self,
        path: str | Path,
        date_column: str | None = None,
        nan_policy: str = "error",
        split: Split | Mapping[str, float] | None = None,
        sep: str = ",",
        decimal: str = ".",
    ) -> None:
        self.path = Path(path)
        self.name = str(self.path)
        self.date_column, self.nan_policy = date_column, nan_policy
        self.sep, self.decimal = sep, decimal
        self.split = DEFAULT_SPLIT if split is None else Split.parse(split)

    def prepare(self) -> None:
        """Nothing to fetch."""

    def load(self) -> pd.DataFrame:
        return read_wide_csv(
            self.path, self.date_column, self.nan_policy, sep=self.sep, decimal=self.decimal
        )


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
