"""Data for stanhop: read and validate wide CSVs, split them chronologically, standardise
on the training rows, cut windows, fetch the standard benchmarks, generate synthetic data,
and serve it all through a LightningDataModule."""

from stanhop.data.csv import NAN_POLICIES, infer_freq, read_wide_csv
from stanhop.data.datamodule import TimeSeriesDataModule, from_csv
from stanhop.data.download import MIRROR_ENV, download, sha256_of
from stanhop.data.errors import DataError
from stanhop.data.registry import BENCHMARKS, Benchmark, get_benchmark
from stanhop.data.scaler import Scaler
from stanhop.data.sources import BenchmarkSource, CSVSource, Source, SyntheticSource
from stanhop.data.splits import Split, check_lengths
from stanhop.data.synthetic import make_synthetic
from stanhop.data.windows import WindowDataset

__all__ = [
    "BENCHMARKS",
    "MIRROR_ENV",
    "NAN_POLICIES",
    "Benchmark",
    "BenchmarkSource",
    "CSVSource",
    "DataError",
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
    "make_synthetic",
    "read_wide_csv",
    "sha256_of",
]
