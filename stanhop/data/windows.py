"""The one window cutter: windows of consecutive rows of a ``(t, c)`` series, used by the
training data (:class:`WindowDataset`), memory windows, backtests and forecasts."""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch
from torch.utils.data import Dataset

Series = TypeVar("Series", np.ndarray, torch.Tensor)


def cut_windows(values: Series, starts: np.ndarray, length: int) -> Series:
    """The windows of ``length`` rows of ``values`` (t, c) starting at each row of
    ``starts`` (k,): (k, length, c), of the type of ``values`` (numpy or torch)."""
    rows = np.asarray(starts)[:, None] + np.arange(length)  # (k, length) row of every step
    return values[torch.from_numpy(rows) if isinstance(values, torch.Tensor) else rows]


def window_starts(n_rows: int, length: int) -> np.ndarray:
    """Every start row of a window of ``length`` rows within ``n_rows`` rows."""
    return np.arange(n_rows - length + 1)


class WindowDataset(Dataset):
    """Item ``i`` is ``(x, y)``: ``x = values[i : i + in_len]`` of shape ``(in_len, c)``
    and the ``out_len`` rows after it, ``y`` of shape ``(out_len, k)``; both float32.
    ``y`` holds the ``targets`` columns (indices, in that order), every column (``k = c``)
    when None. Windows start at every row, so there are ``t - in_len - out_len + 1``.

    With ``future`` (t, f), the features known in advance (calendar features, future
    covariates), item ``i`` is ``(x, y, future)`` with ``future`` (out_len, f): their
    values over the forecast horizon."""

    def __init__(
        self,
        values: np.ndarray,
        in_len: int,
        out_len: int,
        targets: list[int] | None = None,
        future: np.ndarray | None = None,
    ) -> None:
        if values.ndim != 2:
            raise ValueError(f"values must be (t, c), got shape {values.shape}")
        if in_len < 1 or out_len < 1:
            raise ValueError(f"in_len and out_len must be >= 1, got {in_len} and {out_len}")
        if len(values) < in_len + out_len:
            raise ValueError(
                f"{len(values)} rows hold no window of in_len + out_len = {in_len + out_len}"
            )
        self.values = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))
        self.in_len, self.out_len = in_len, out_len
        # The target columns, copied once so that every y is a contiguous slice.
        self.targets = self.values if targets is None else self.values[:, targets].contiguous()
        self.future = (
            None
            if future is None
            else torch.from_numpy(np.ascontiguousarray(future, dtype=np.float32))
        )

    def __len__(self) -> int:
        return len(self.values) - self.in_len - self.out_len + 1

    def __getitem__(self, i: int) -> tuple[torch.Tensor, ...]:
        if not 0 <= i < len(self):
            raise IndexError(f"window {i} out of range for {len(self)} windows")
        x = cut_windows(self.values, np.array([i]), self.in_len)[0]  # (in_len, c)
        horizon = np.array([i + self.in_len])
        y = cut_windows(self.targets, horizon, self.out_len)[0]  # (out_len, k)
        if self.future is None:
            return x, y
        return x, y, cut_windows(self.future, horizon, self.out_len)[0]  # (out_len, f)
