"""Sliding (input, target) windows over a standardised ``(t, c)`` array."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset


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
        split = i + self.in_len
        horizon = slice(split, split + self.out_len)
        if self.future is None:
            return self.values[i:split], self.targets[horizon]
        return self.values[i:split], self.targets[horizon], self.future[horizon]
