"""Whether a history is far from the data the model was trained on — the same series in
other units, say — so that the forecast, made at the training scale, is not to be
trusted. Each series' last ``in_len`` rows are compared with the training data's mean
and standard deviation (the checkpoint's scaler)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from stanhop.data import DataWarning, Scaler
from stanhop.data.messages import listing
from stanhop.measures.conformal import SCALE_FLOOR, Calibration, revin_of

# A window whose mean lies more than this many training standard deviations from the
# training mean, or whose spread is more than this many times the training spread, is
# "far". On every window of ETTh1, WTH, ILI and the synthetic data, scaled on their
# first 70 %, the largest values are 4.6 and 4.0 (bench/history_shift.py): a margin of
# twice that. A smaller spread is not checked: flat stretches are common (on WTH, 2 % of
# the windows have under 1/100 of the training spread).
LEVEL_LIMIT = 10.0
SPREAD_LIMIT = 10.0


def level_and_spread(window: np.ndarray, scaler: Scaler) -> tuple[np.ndarray, np.ndarray]:
    """``window`` (t, c) in original units → per series ``(c,)``: its mean's distance from
    the training mean in training standard deviations (signed), and its standard
    deviation over the training one."""
    # values near float64's limit overflow to inf: far, and reported as such
    with np.errstate(over="ignore", invalid="ignore"):
        level = (window.mean(axis=0) - scaler.mean) / scaler.std
        spread = window.std(axis=0) / scaler.std
    return level, spread


def far_series(window: np.ndarray, scaler: Scaler, names: Sequence[str]) -> list[str]:
    """One description per series of ``window`` (t, c) that is far from the training data
    (see :data:`LEVEL_LIMIT`), e.g. ``'OT' averages 1.6e+04, +2.1e+03 training standard
    deviations from the training mean 17.1, with 1e+03 times its spread``."""
    level, spread = level_and_spread(window, scaler)
    far = (np.abs(level) > LEVEL_LIMIT) | (spread > SPREAD_LIMIT)
    return [
        f"{names[c]!r} averages {window[:, c].mean():.4g}, {level[c]:+.3g} training standard "
        f"deviations from the training mean {scaler.mean[c]:.4g}, with {spread[c]:.3g} times "
        "its spread"
        for c in np.flatnonzero(far)
    ]


def not_finite(window: np.ndarray, scaler: Scaler, names: Sequence[str], source: str | Path) -> str:
    """Why the forecast from ``window`` (in_len, c) overflowed: its most extreme value,
    in standard deviations of the training data."""
    deviations = np.abs(scaler.transform(window))
    row, col = np.unravel_index(np.nanargmax(deviations), deviations.shape)
    return (
        f"{source}: the forecast is not finite (it overflowed): series "
        f"{names[col]!r} holds {window[row, col]:g} in the last "
        f"in_len={len(window)} rows, {deviations[row, col]:.3g} standard deviations from "
        "the training data's mean; check the data's units, or remove the outlier"
    )


def warn_if_far(
    window: np.ndarray, scaler: Scaler, names: Sequence[str], source: str | Path
) -> None:
    """A :class:`~stanhop.data.DataWarning` for each series of ``window`` (t, c) that is
    far from the training data, naming it and saying by how much."""
    for description in far_series(window, scaler, names):
        warnings.warn(
            f"{source}: series {description} in the last {len(window)} rows, far from the "
            "data the model was trained on: the forecast, made at the training scale, may be "
            "wrong; check the series' units",
            DataWarning,
            stacklevel=3,
        )


def flat_windows(
    model: nn.Module, calibration: Calibration | None, scale: torch.Tensor
) -> torch.Tensor:
    """Which target series of the windows of RevIN scale ``scale`` (b, 1, k, see
    :func:`~stanhop.measures.conformal.window_scale`) are flat, a spread under the
    floor of their intervals (:data:`~stanhop.measures.conformal.SCALE_FLOOR` of
    the training spread, or the floors of ``calibration``): (b, k) bool, all False for a
    ``model`` without RevIN, which forecasts every window on the training scale."""
    if revin_of(model) is None:
        return torch.zeros(scale.shape[0], scale.shape[2], dtype=torch.bool)
    floor = SCALE_FLOOR if calibration is None else calibration.floors()
    floor = torch.as_tensor(floor, dtype=scale.dtype, device=scale.device)
    return (scale < floor).cpu()[:, 0]


def warn_if_flat(
    flat: np.ndarray, names: Sequence[str], source: str | Path, in_len: int | None = None
) -> None:
    """One :class:`~stanhop.data.DataWarning` naming the series flat in some of the input
    windows ``flat`` (n, k) bool (a spread under
    :data:`~stanhop.measures.conformal.SCALE_FLOOR` of the training spread, see
    :func:`flat_windows`): those of a forecast's window of
    the last ``in_len`` rows, or, without ``in_len``, of a backtest's windows."""
    counts = flat.sum(axis=0)
    if not counts.any():
        return
    if in_len is not None:
        which = f"series {listing([names[c] for c in np.flatnonzero(counts)])} flat over the "
        which += f"last {in_len} rows"
    else:
        parts = [f"{names[c]!r} in {counts[c]}" for c in np.flatnonzero(counts)]
        which = f"series {', '.join(parts)} of the {len(flat)} backtest windows flat"
    warnings.warn(
        f"{source}: {which} (a spread under {SCALE_FLOOR:g} of the training spread): the "
        "model forecasts each window on its own scale, so a flat window gets a flat "
        "forecast that foresees no step out of it",
        DataWarning,
        stacklevel=3,
    )
