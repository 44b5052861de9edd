"""Split-conformal prediction intervals: from the absolute errors of a trained model on
windows it was not fitted on (the validation split), a half-width per level, series and
horizon step such that ``forecast ± half-width`` holds the truth with the level's
probability.

Split conformal prediction (Vovk, Gammerman & Shafer, *Algorithmic Learning in a Random
World*, 2005; Lei et al., JASA 2018, https://arxiv.org/abs/1604.04173) guarantees that
coverage when the calibration errors and the new error are exchangeable. Windows of one
time series are not: neighbouring windows share most of their rows, and the future may
drift away from the validation period. The intervals are then calibrated, not guaranteed;
the training run measures their coverage on the test split (``test/coverage_80`` …) and
``stanhop-evaluate`` on any history.

All widths are in the model's standardised units (a series' errors divided by its
training standard deviation); ``std · half-width`` is the width in the data's units.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

# Levels (in percent) a training run calibrates by default: forecasts can ask for these.
DEFAULT_LEVELS = (50.0, 80.0, 90.0, 95.0, 99.0)


def check_level(level: float) -> float:
    """``level`` in percent as a float, or ``ValueError`` unless 0 < level < 100."""
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 100:
        raise ValueError(f"an interval level is a percentage between 0 and 100, got {level!r}")
    return float(level)


def level_name(level: float) -> str:
    """The level as it appears in column and metric names: 80 → ``80``, 97.5 → ``97.5``."""
    return f"{level:g}"


def conformal_rank(n: int, level: float) -> int:
    """The rank ``k = ceil((n + 1) · level / 100)`` of the conformal quantile among ``n``
    calibration scores (1-based); larger than ``n`` when ``n`` is too small for the level."""
    # The small tolerance keeps e.g. (19 + 1) · 0.95 = 19.000000000000004 at 19.
    return math.ceil((n + 1) * level / 100 - 1e-9)


def conformal_quantile(scores: np.ndarray, level: float) -> np.ndarray:
    """The finite-sample conformal quantile of ``scores`` along axis 0, for ``level`` in
    percent: the ``k``-th smallest of the ``n`` scores with ``k = ceil((n + 1) · level)``
    (the level as a fraction), not the plain empirical ``level``-quantile.

    The ``+ 1`` counts the new, unseen score: if it and the ``n`` calibration scores are
    exchangeable, the new score is at most the ``k``-th smallest calibration score with
    probability at least ``level``. When ``k > n`` no calibration score is large enough
    to promise that, and the quantile is ``inf`` (an unbounded interval).

    ``scores``: (n, ...) → (...).
    """
    level = check_level(level)
    n = scores.shape[0]
    k = conformal_rank(n, level)
    if k > n:
        return np.full(scores.shape[1:], np.inf)
    return np.partition(scores, k - 1, axis=0)[k - 1]


@dataclass(frozen=True)
class Calibration:
    """Half-widths of the intervals of a model: ``radius[i]`` (out_len, c), in
    standardised units, for ``levels[i]`` (percent), from ``n_windows`` calibration
    windows. ``note``, when set, says why the intervals may not hold their level for the
    model they are used with (e.g. a quantised copy); it is not stored."""

    levels: tuple[float, ...]
    radius: np.ndarray  # (levels, out_len, c)
    n_windows: int
    note: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.radius.ndim != 3 or self.radius.shape[0] != len(self.levels):
            raise ValueError(
                f"radius must be (levels, out_len, c) with {len(self.levels)} levels, got "
                f"shape {self.radius.shape}"
            )

    def half_width(self, level: float) -> np.ndarray:
        """The half-widths (out_len, c) of ``level``; ``KeyError`` for an uncalibrated one,
        ``ValueError`` for one the calibration windows are too few to bound."""
        level = check_level(level)
        if level not in self.levels:
            have = ", ".join(level_name(lv) for lv in self.levels)
            raise KeyError(f"level {level_name(level)} is not calibrated (the levels are {have})")
        radius = self.radius[self.levels.index(level)]
        if not np.isfinite(radius).all():
            raise ValueError(
                f"level {level_name(level)} needs at least "
                f"{math.ceil(100 / (100 - level)) - 1} calibration windows, there were "
                f"{self.n_windows}"
            )
        return radius

    def bounded_levels(self) -> list[float]:
        """The levels whose intervals are finite (enough calibration windows)."""
        return [lv for lv, r in zip(self.levels, self.radius, strict=True) if np.isfinite(r).all()]

    def to_dict(self) -> dict[str, Any]:
        """Plain values and a tensor, for a checkpoint read with ``weights_only=True``."""
        return {
            "levels": list(self.levels),
            "radius": torch.from_numpy(np.ascontiguousarray(self.radius, dtype=np.float32)),
            "n_windows": int(self.n_windows),
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Calibration:
        """Inverse of :meth:`to_dict`."""
        radius = state["radius"]
        radius = radius.numpy() if isinstance(radius, torch.Tensor) else np.asarray(radius)
        return cls(
            tuple(float(lv) for lv in state["levels"]),
            radius.astype(np.float64),
            int(state["n_windows"]),
        )


def calibrate(abs_errors: np.ndarray, levels: Iterable[float] = DEFAULT_LEVELS) -> Calibration:
    """The calibration of a model from its absolute errors on calibration windows.

    ``abs_errors``: (n, out_len, c), ``|y - forecast|`` in standardised units, one entry
    per window, horizon step and series; each (step, series) gets its own
    :func:`conformal_quantile`.
    """
    levels = tuple(sorted({check_level(lv) for lv in levels}))
    if not levels:
        raise ValueError("give at least one interval level, e.g. [80, 95]")
    if abs_errors.ndim != 3 or abs_errors.shape[0] == 0:
        raise ValueError(f"abs_errors must be (n >= 1, out_len, c), got {abs_errors.shape}")
    radius = np.stack([conformal_quantile(abs_errors, lv) for lv in levels])
    return Calibration(levels, radius.astype(np.float64), abs_errors.shape[0])


def model_abs_errors(
    model: torch.nn.Module, batches: Iterable[Sequence[torch.Tensor]], device: torch.device
) -> np.ndarray:
    """``|y - model(x)|`` for every window of ``batches`` of ``(x, y[, future])`` (standardised,
    x (b, in_len, c), y (b, out_len, c)), without autocast in the weights' own dtype
    (fp32 under any mixed precision), as validation runs: (n, out_len, c) float32."""
    dtype = next((p.dtype for p in model.parameters()), torch.float32)
    errors = []
    with torch.inference_mode(), torch.autocast(device.type, enabled=False):
        for x, y, *future in batches:
            known = (f.to(device, dtype) for f in future)  # future features, when any
            pred = model(x.to(device, dtype), *known)  # (b, out_len, c)
            errors.append((pred - y.to(device)).abs().float().cpu().numpy())
    return np.concatenate(errors)


def coverage_counts(y: torch.Tensor, pred: torch.Tensor, radius: torch.Tensor) -> tuple[int, int]:
    """How many of the values ``y`` (b, out_len, c) lie within ``pred ± radius``
    (``radius`` (out_len, c)), and how many values there are."""
    inside = (y - pred).abs() <= radius
    return int(inside.sum()), inside.numel()
