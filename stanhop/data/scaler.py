"""Per-series standardisation, fitted on the training rows only."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

from stanhop.data.errors import DataWarning
from stanhop.data.messages import listing

Array = TypeVar("Array", np.ndarray, torch.Tensor)


@dataclass
class Scaler:
    """``(x - mean) / std`` per series; arrays broadcast on their last axis (the series).

    Fit it on the training rows only, so nothing about validation or test leaks into the
    inputs.
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray) -> Scaler:
        """Mean and population standard deviation (ddof=0) of each column of ``values``
        ``(t, c)``; a constant series gets std 1.0 so it is shifted but not divided by 0."""
        values = np.asarray(values, dtype=np.float64)
        std = values.std(axis=0)
        std[np.ptp(values, axis=0) == 0] = 1.0
        return cls(mean=values.mean(axis=0), std=std)

    def transform(self, x: Array) -> Array:
        """Standardise ``x`` (numpy array or torch tensor, in its own dtype and device)."""
        mean, std = self._like(x)
        return (x - mean) / std

    def inverse_transform(self, x: Array) -> Array:
        """Back to the original units."""
        mean, std = self._like(x)
        return x * std + mean

    def select(self, columns: list[int] | None) -> Scaler:
        """The scaler of the ``columns`` (indices) only, e.g. the forecast targets; this
        scaler itself for None."""
        if columns is None:
            return self
        return Scaler(mean=self.mean[columns], std=self.std[columns])

    def to_dict(self) -> dict[str, list[float]]:
        """Plain lists, for checkpoints and JSON."""
        return {"mean": [float(m) for m in self.mean], "std": [float(s) for s in self.std]}

    @classmethod
    def from_dict(cls, state: dict[str, list[float]]) -> Scaler:
        """Inverse of :meth:`to_dict`."""
        return cls(
            mean=np.asarray(state["mean"], dtype=np.float64),
            std=np.asarray(state["std"], dtype=np.float64),
        )

    def _like(self, x: Array) -> tuple[Array, Array]:
        """mean and std in the type, dtype and device of ``x``, so float32 stays float32."""
        if isinstance(x, torch.Tensor):
            dtype = x.dtype if x.is_floating_point() else torch.float32
            return (
                torch.as_tensor(self.mean, dtype=dtype, device=x.device),
                torch.as_tensor(self.std, dtype=dtype, device=x.device),
            )
        dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
        return self.mean.astype(dtype), self.std.astype(dtype)


def warn_constant_series(
    values: np.ndarray, names: Sequence[str], source: str | Path, split: str = "training"
) -> None:
    """Warn (a :class:`DataWarning` naming them) about the series constant over ``values``
    ``(t, c)``, the rows :meth:`Scaler.fit` was given: their scale falls back to 1.0, so
    their standardised errors and intervals are in the data's own units."""
    constant = [str(n) for n, span in zip(names, np.ptp(values, axis=0), strict=True) if span == 0]
    if constant:
        warnings.warn(
            f"{source}: series {listing(constant)} constant over the {split} rows; their scale "
            "is 1.0, so their standardised errors and intervals are in the data's units, not "
            "comparable with the other series' (check the column, or drop it)",
            DataWarning,
            stacklevel=2,
        )
