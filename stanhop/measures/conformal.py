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

A model with RevIN (:mod:`stanhop.model.revin`) forecasts each window on that window's
own scale, so its errors grow and shrink with the window's spread: its calibration
(``per_window``) divides each error by the standard deviation RevIN divided the input
window by, and a forecast multiplies the half-widths back by its own window's — so the
intervals follow a history given at another scale, as the point forecast does.

A window of a stuck sensor or a run of zeros has a spread of almost nothing: dividing by
it would score its errors about 0 (flat in, flat out) or in the hundreds (flat in, a step
out), and shrink the band of a forecast from such a window to nothing. So the scale is
floored at :data:`SCALE_FLOOR` of the series' training standard deviation, and the
windows below that floor — *flat* — are calibrated apart from the others (Mondrian
conformal prediction, Vovk et al. 2005): each group's intervals then hold their level
within the group, whatever share of the calibration windows was flat. A group with too
few windows for a level takes the quantile of all windows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from stanhop.model.revin import RevIN
from stanhop.model.targets import select

# Levels (in percent) a training run calibrates by default: forecasts can ask for these.
DEFAULT_LEVELS = (50.0, 80.0, 90.0, 95.0, 99.0)
# The least scale of a window, as a share of its series' training standard deviation;
# below it a window is flat. Flat windows are calibrated apart, where the floor cancels
# out, so it only decides which windows count as flat: low enough that windows of slow
# series do not (over 48 hours ETTh1's oil temperature often stays within a tenth of its
# training spread), and that a history at a fifth of the training scale keeps intervals
# at a fifth (bench/RESULTS.md).
SCALE_FLOOR = 0.02


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
    # radius in units of each input window's RevIN standard deviation (see the module)
    per_window: bool = False
    # the least such scale per series (c,), standardised, or one for all series
    floor: np.ndarray | float = SCALE_FLOOR
    # the radius (levels, out_len, c) of flat windows (scale below the floor); None: radius
    flat_radius: np.ndarray | None = None

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
        flat = radius if self.flat_radius is None else self.flat_radius[self.levels.index(level)]
        if not (np.isfinite(radius).all() and np.isfinite(flat).all()):
            raise ValueError(
                f"level {level_name(level)} needs at least "
                f"{math.ceil(100 / (100 - level)) - 1} calibration windows, there were "
                f"{self.n_windows}"
            )
        return radius

    def bounded_levels(self) -> list[float]:
        """The levels whose intervals are finite (enough calibration windows)."""
        flat = self.radius if self.flat_radius is None else self.flat_radius
        return [
            lv
            for lv, r, f in zip(self.levels, self.radius, flat, strict=True)
            if np.isfinite(r).all() and np.isfinite(f).all()
        ]

    def to_dict(self) -> dict[str, Any]:
        """Plain values and tensors, for a checkpoint read with ``weights_only=True``."""
        flat = self.radius if self.flat_radius is None else self.flat_radius
        return {
            "levels": list(self.levels),
            "radius": _tensor(self.radius),
            "n_windows": int(self.n_windows),
            "per_window": bool(self.per_window),
            "floor": _tensor(self.floors()),
            "flat_radius": _tensor(flat),
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Calibration:
        """Inverse of :meth:`to_dict`."""
        return cls(
            tuple(float(lv) for lv in state["levels"]),
            _array(state["radius"]),
            int(state["n_windows"]),
            # absent from checkpoints calibrated before the per-window scale existed
            per_window=bool(state.get("per_window", False)),
            # Absent from checkpoints calibrated before the floor: their scaler was fitted
            # on their training rows, where each series' standard deviation is 1, and their
            # flat windows were calibrated with the others.
            floor=_array(state["floor"]) if "floor" in state else SCALE_FLOOR,
            flat_radius=_array(state["flat_radius"]) if "flat_radius" in state else None,
        )

    def floors(self) -> np.ndarray:
        """The least window scale of each series, (c,) standardised."""
        floor = np.asarray(self.floor, dtype=np.float64)
        return np.broadcast_to(floor, self.radius.shape[2:]).copy()

    def scaled(self, level: float, scale: torch.Tensor) -> torch.Tensor:
        """The half-widths of ``level`` for windows whose RevIN standard deviations are
        ``scale`` (b, 1, c, see :func:`window_scale`): (b, out_len, c) standardised; the
        stored radius itself for each window unless ``per_window``, else the radius of
        its group (flat or not) times its scale floored."""
        like = {"dtype": scale.dtype, "device": scale.device}
        radius = torch.as_tensor(self.half_width(level), **like)
        if not self.per_window:
            return radius.expand(len(scale), *radius.shape)
        flat = radius
        if self.flat_radius is not None:
            flat = torch.as_tensor(self.flat_radius[self.levels.index(level)], **like)
        floor = torch.as_tensor(self.floors(), **like)
        return torch.where(scale < floor, flat, radius) * torch.maximum(scale, floor)


def _tensor(values: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))


def _array(values: torch.Tensor | np.ndarray) -> np.ndarray:
    values = values.numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
    return values.astype(np.float64)


def scale_floor(train_values: np.ndarray) -> np.ndarray:
    """The floor of each series' window scale: :data:`SCALE_FLOOR` times its standard
    deviation over ``train_values`` (t, c), the standardised training rows; a series
    constant there has the scaler's own unit, 1. Returns (c,)."""
    spread = np.asarray(train_values, dtype=np.float64).std(axis=0)
    return SCALE_FLOOR * np.where(spread > 0, spread, 1.0)


def calibrate(
    abs_errors: np.ndarray,
    levels: Iterable[float] = DEFAULT_LEVELS,
    scales: np.ndarray | None = None,
    floor: np.ndarray | float = SCALE_FLOOR,
) -> Calibration:
    """The calibration of a model from its absolute errors on calibration windows.

    ``abs_errors``: (n, out_len, c), ``|y - forecast|`` in standardised units, one entry
    per window, horizon step and series; each (step, series) gets its own
    :func:`conformal_quantile`. With ``scales`` (n, c), each window's RevIN standard
    deviations (see :func:`model_errors`), the calibration is ``per_window``: the errors
    are divided by the scales floored at ``floor`` ((c,) or one for all series), and the
    windows below the floor are calibrated apart from the others (see the module).
    """
    levels = tuple(sorted({check_level(lv) for lv in levels}))
    if not levels:
        raise ValueError("give at least one interval level, e.g. [80, 95]")
    if abs_errors.ndim != 3 or abs_errors.shape[0] == 0:
        raise ValueError(f"abs_errors must be (n >= 1, out_len, c), got {abs_errors.shape}")
    n = abs_errors.shape[0]
    if scales is None:
        radius = np.stack([conformal_quantile(abs_errors, lv) for lv in levels])
        return Calibration(levels, radius.astype(np.float64), n)
    floors = np.broadcast_to(np.asarray(floor, dtype=np.float64), abs_errors.shape[2:])
    scores = abs_errors / np.maximum(scales, floors)[:, None, :]
    flat = scales < floors  # (n, c)
    pooled = np.stack([conformal_quantile(scores, lv) for lv in levels])
    radius, flat_radius = (
        np.where(np.isfinite(own), own, pooled)  # too few windows in the group: all of them
        for own in (_group_quantiles(scores, group, levels) for group in (~flat, flat))
    )
    return Calibration(
        levels, radius, n, per_window=True, floor=floors.copy(), flat_radius=flat_radius
    )


def _group_quantiles(scores: np.ndarray, group: np.ndarray, levels: Sequence[float]) -> np.ndarray:
    """The conformal quantiles (levels, out_len, c) of each series' ``scores`` (n,
    out_len, c) over the windows of its ``group`` (n, c); ``inf`` where they are too few."""
    # One sort for every level: the windows outside the group sort last, as inf.
    ordered = np.sort(np.where(group[:, None, :], scores, np.inf), axis=0)
    counts = group.sum(axis=0)  # (c,)
    quantiles = []
    for level in levels:
        k = np.array([conformal_rank(int(m), level) for m in counts])  # (c,)
        rows = np.broadcast_to(np.clip(k - 1, 0, len(scores) - 1), ordered.shape[1:])
        quantile = np.take_along_axis(ordered, rows[None], axis=0)[0]  # (out_len, c)
        quantiles.append(np.where(k <= counts, quantile, np.inf))
    return np.stack(quantiles)


def revin_of(model: torch.nn.Module) -> RevIN | None:
    """The RevIN layer of ``model`` (or of the model it wraps), ``None`` without one."""
    return next((m for m in model.modules() if isinstance(m, RevIN)), None)


def targets_of(model: torch.nn.Module) -> list[int] | None:
    """The target series (input indices) of ``model`` (or of the model it wraps); ``None``
    when every series is a target."""
    for module in model.modules():
        cfg = getattr(module, "cfg", None)
        if hasattr(cfg, "targets"):
            return cfg.targets
    return None


def window_scale(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``x`` (b, in_len, c) → (b, 1, k): the standard deviation the RevIN of ``model``
    divides each target series' window by, ones for a model without RevIN."""
    revin = revin_of(model)
    scale = revin.std(x) if revin is not None else torch.ones_like(x[:, :1])
    return select(scale, targets_of(model))


def model_errors(
    model: torch.nn.Module, batches: Iterable[Sequence[torch.Tensor]], device: torch.device
) -> tuple[np.ndarray, np.ndarray]:
    """``|y - model(x)|`` (n, out_len, k) for every window of ``batches`` of ``(x, y[,
    future])`` (standardised, x (b, in_len, c), y (b, out_len, k)) and the
    :func:`window_scale` of each (n, k), without autocast in the weights' own dtype (fp32
    under any mixed precision), as validation runs; both float32."""
    dtype = next((p.dtype for p in model.parameters()), torch.float32)
    errors, scales = [], []
    with torch.inference_mode(), torch.autocast(device.type, enabled=False):
        for x, y, *future in batches:
            x = x.to(device, dtype)
            known = (f.to(device, dtype) for f in future)  # future features, when any
            pred = model(x, *known)  # (b, out_len, k)
            errors.append((pred - y.to(device)).abs().float().cpu().numpy())
            scales.append(window_scale(model, x)[:, 0].float().cpu().numpy())
    return np.concatenate(errors), np.concatenate(scales)


def coverage_counts(y: torch.Tensor, pred: torch.Tensor, radius: torch.Tensor) -> tuple[int, int]:
    """How many of the values ``y`` (b, out_len, c) lie within ``pred ± radius``
    (``radius`` (out_len, c) or (b, out_len, c)), and how many values there are."""
    inside = (y - pred).abs() <= radius
    return int(inside.sum()), inside.numel()
