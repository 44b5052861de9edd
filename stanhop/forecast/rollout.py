"""Horizons beyond the trained one: the model rolls forward on its own forecasts, each
round of ``out_len`` steps appended to the window the next round reads."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from stanhop.data import DataWarning
from stanhop.forecast.errors import ForecastError

# One round of a roll-out: (input window (in_len, c) in original units, the timestamps
# of its out_len forecast steps) -> forecast (out_len, k) of the targets.
Step = Callable[[np.ndarray, pd.DatetimeIndex], np.ndarray]


def check_horizon(horizon: int | None, out_len: int, covariates: Sequence[str]) -> int:
    """``horizon`` as a number of steps (default ``out_len``); a one-line
    :class:`ForecastError` for one that is not a whole number >= 1, or that lies beyond
    ``out_len`` for a model with (past) ``covariates``, which it cannot roll forward."""
    if horizon is None:
        return out_len
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 1:
        raise ForecastError(f"horizon must be a whole number of steps >= 1, got {horizon!r}")
    # Beyond out_len the model rolls forward on its own forecasts, which needs every
    # input it reads to be forecast (or known): covariates it does not forecast are not.
    if horizon > out_len and covariates:
        raise ForecastError(
            f"horizon {horizon} is longer than the model's trained horizon "
            f"(out_len={out_len}), and the model cannot roll forward on its own "
            f"forecasts: it does not forecast its covariates {', '.join(covariates)}; ask for "
            f"at most {out_len} steps, or train a model with data.out_len={horizon}"
        )
    return int(horizon)


def warn_recursive(horizon: int, out_len: int, source: str | Path, intervals: bool) -> None:
    """The one-line :class:`~stanhop.data.DataWarning` that the steps beyond ``out_len``
    are recursive (and, with ``intervals``, have none)."""
    message = (
        f"{source}: steps {out_len + 1} to {horizon} lie beyond the model's trained "
        f"horizon (out_len={out_len}) and are recursive: forecast from its own "
        "forecasts, their errors compound"
    )
    if intervals:
        message += f"; prediction intervals cover the first {out_len} steps only"
    warnings.warn(message, DataWarning, stacklevel=4)


def roll(
    step: Step, window: np.ndarray, stamps: pd.DatetimeIndex, out_len: int, order: list[int]
) -> np.ndarray:
    """Forecast the steps ``stamps`` (a whole number of rounds of ``out_len``) from
    ``window`` (in_len, c) recursively; ``order`` are the input columns of the forecast
    targets (every input is a target). Returns the values (len(stamps), k)."""
    in_len = len(window)
    values, current = [], window
    for r in range(len(stamps) // out_len):
        forecast = step(current, stamps[r * out_len : (r + 1) * out_len])  # (out_len, k)
        values.append(forecast)
        rows = np.empty((out_len, current.shape[1]))
        rows[:, order] = forecast
        current = np.concatenate([current, rows])[-in_len:]
    return np.concatenate(values)
