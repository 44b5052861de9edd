"""Data for stanhop: read and validate wide CSVs, split them chronologically, standardise
on the training rows, cut windows, fetch the standard benchmarks, generate synthetic data,
and serve it all through a LightningDataModule."""

from __future__ import annotations

from typing import Any

from stanhop.data.benchmarks import BENCHMARKS, Benchmark, get_benchmark
from stanhop.data.csv import parse_wide_frame, read_wide_csv
from stanhop.data.download import MIRROR_ENV, download, sha256_of
from stanhop.data.errors import DataError, DataNote, DataWarning
from stanhop.data.freq import infer_freq
from stanhop.data.long import parse_long_frame, read_long_csv, to_long
from stanhop.data.scaler import Scaler
from stanhop.data.sources import (
    BenchmarkSource,
    CSVSource,
    FrameSource,
    Source,
    SyntheticSource,
)
from stanhop.data.splits import Split, check_lengths
from stanhop.data.synthetic import make_flat_stretches, make_synthetic
from stanhop.data.validate import NAN_POLICIES
from stanhop.data.windows import WindowDataset

__all__ = [
    "BENCHMARKS",
    "MIRROR_ENV",
    "NAN_POLICIES",
    "Benchmark",
    "BenchmarkSource",
    "CSVSource",
    "DataError",
    "DataNote",
    "DataWarning",
    "FrameSource",
    "Scaler",
    "Source",
    "Split",
    "SyntheticSource",
    "TimeSeriesDataModule",
    "WindowDataset",
    "check_lengths",
    "download",
    "from_csv",
    "get_benchmark",
    "infer_freq",
    "make_flat_stretches",
    "make_synthetic",
    "parse_long_frame",
    "parse_wide_frame",
    "read_long_csv",
    "read_wide_csv",
    "sha256_of",
    "to_long",
]

# The datamodule needs Lightning, whose import takes seconds; it is loaded on first use so
# that reading data (e.g. for a forecast) stays quick to start.
_LAZY = {"TimeSeriesDataModule", "from_csv"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import stanhop.data.datamodule as datamodule

        return getattr(datamodule, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
