"""Memory windows for STanHop-Net's external memory (:mod:`stanhop.model.memory`):
``(K, in_len, c)`` float32 tensors on the standardised scale of a run.

Three sources: a seeded sample of training windows (``train``), the training windows
that a labelled event covers (``events``), or every window of a wide CSV of history
(a path), sampled down to ``size`` when it holds more.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stanhop.data.csv import read_wide_csv
from stanhop.data.errors import DataError
from stanhop.data.scaler import Scaler
from stanhop.data.windows import cut_windows, window_starts

SOURCES = ("train", "events")


def sample_windows(
    values: np.ndarray, in_len: int, size: int | None, seed: int, starts: np.ndarray | None = None
) -> torch.Tensor:
    """Windows of ``in_len`` rows of ``values`` (t, c) → (K, in_len, c) float32.

    Windows may start at ``starts`` (default: every row that leaves ``in_len`` rows);
    when there are more than ``size`` of them, ``size`` are drawn without replacement
    with ``seed`` and kept in time order.
    """
    if starts is None:
        starts = window_starts(len(values), in_len)
    if size is not None and len(starts) > size:
        starts = np.sort(np.random.default_rng(seed).choice(starts, size, replace=False))
    windows = cut_windows(values, starts, in_len)  # (K, in_len, c)
    return torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32))


def windows_from_csv(
    path: str | Path,
    series_names: Sequence[str],
    scaler: Scaler,
    in_len: int,
    size: int | None = None,
    seed: int = 0,
    date_column: str | None = None,
    nan_policy: str = "error",
) -> torch.Tensor:
    """Memory windows from a wide CSV of history (the layout of the training data):
    the model's series, matched by name (other columns are ignored), standardised with
    the run's ``scaler``, cut into every window of ``in_len`` rows and sampled down to
    ``size`` windows with ``seed`` when there are more."""
    frame = read_wide_csv(path, date_column, nan_policy)
    missing = [name for name in series_names if name not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: the memory CSV lacks the model's series {', '.join(map(repr, missing))}; "
            "give it a column for every series the model was trained on"
        )
    if len(frame) < in_len:
        raise DataError(
            f"{path}: the memory CSV has {len(frame)} rows, fewer than in_len={in_len}; give "
            f"at least {in_len} rows of history"
        )
    values = scaler.transform(frame[list(series_names)].to_numpy(dtype=np.float64))
    return sample_windows(values, in_len, size, seed)


def memory_windows(source: str, datamodule: Any, size: int, seed: int) -> torch.Tensor:
    """The memory windows ``source`` names for a
    :class:`~stanhop.data.TimeSeriesDataModule`: ``train``, ``events`` or a CSV path."""
    datamodule.setup("fit")  # does nothing when already set up
    in_len = datamodule.in_len
    train = datamodule.datasets["train"].values.numpy()  # (t, c), already standardised
    if source == "train":
        return sample_windows(train, in_len, size, seed)
    if source == "events":
        return sample_windows(train, in_len, size, seed, _event_starts(datamodule, in_len))
    if not Path(source).is_file():
        raise DataError(
            f"memory.source={source!r} is neither {' nor '.join(SOURCES)} nor an existing "
            "CSV file; give one of those"
        )
    return windows_from_csv(source, datamodule.series_names, datamodule.scaler, in_len, size, seed)


def _event_starts(datamodule: Any, in_len: int) -> np.ndarray:
    """Starts of the training windows of ``in_len`` rows that overlap a labelled event."""
    event_rows = getattr(datamodule.source, "event_rows", None)
    rows = event_rows()[slice(*datamodule.bounds["train"])] if event_rows else None
    if rows is None or not rows.any():
        raise DataError(
            "memory.source=events needs training data with labelled events, e.g. "
            "data=synthetic data.source.recurring_events=3; use memory.source=train or a CSV"
        )
    return overlapping_starts(rows, in_len)


def overlapping_starts(rows: np.ndarray, in_len: int) -> np.ndarray:
    """Starts of the windows of ``in_len`` rows over ``rows`` (t,) bool that hold a True
    row."""
    counts = np.concatenate([[0], np.cumsum(rows)])  # counts[j] = True rows before j
    starts = np.arange(len(rows) - in_len + 1)
    return starts[counts[starts + in_len] - counts[starts] > 0]
