"""Prediction intervals in forecasts and backtests: which levels a user asks for, their
half-widths (from the checkpoint's calibration, or recalibrated on the model's recent
errors), and the columns they add to a forecast table (``SERIES_lo_80``,
``SERIES_hi_80`` in the wide layout; ``lo_80``, ``hi_80`` in the long one)."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from stanhop.data import DataWarning, to_long
from stanhop.forecast.errors import ForecastError
from stanhop.measures.conformal import (
    DEFAULT_LEVELS,
    SCALE_FLOOR,
    Calibration,
    calibrate,
    check_level,
    conformal_rank,
    level_name,
    revin_of,
)

# Interval levels as a caller may give them: (80, 95), 80, or "80,95".
Levels = Sequence[float] | float | str


def as_levels(levels: Levels) -> tuple[float, ...]:
    """``levels`` as a tuple of percentages: a sequence of numbers, one number, or a text
    of comma-separated numbers; ``ValueError`` saying how to give them otherwise."""
    if isinstance(levels, str):
        return parse_levels(levels)
    if isinstance(levels, int | float) and not isinstance(levels, bool):
        return (check_level(levels),)
    if not isinstance(levels, Sequence):
        raise ValueError(
            f"intervals={levels!r}: give levels in percent, e.g. intervals=(80, 95), 80 or '80,95'"
        )
    return tuple(check_level(level) for level in levels)


def parse_levels(text: str) -> tuple[float, ...]:
    """``"80,95"`` → ``(80.0, 95.0)``: levels in percent, comma-separated; ``ValueError``
    with the fix otherwise."""
    levels = []
    for part in text.split(","):
        try:
            levels.append(check_level(float(part)))
        except ValueError:
            raise ValueError(
                f"{text!r}: give levels in percent between 0 and 100, separated "
                "by commas, e.g. --intervals 80,95"
            ) from None
    return tuple(levels)


def half_widths(
    calibration: Calibration | None, levels: Iterable[float], source: str
) -> dict[float, np.ndarray]:
    """The half-widths (out_len, c) of each of ``levels``, standardised, from the
    calibration of the checkpoint named ``source``; ``ValueError`` saying what to do when
    it has none, or not of a level."""
    if calibration is None:
        raise ValueError(
            f"{source}: this checkpoint has no prediction intervals (it was trained before "
            "stanhop calibrated them, or with callbacks.intervals=null); train it again with "
            "the default callbacks to get them"
        )
    widths = {}
    for level in levels:
        try:
            widths[check_level(level)] = calibration.half_width(level)
        except KeyError as err:
            raise ValueError(
                f"{source}: {err.args[0]}; ask for a calibrated level, or train with "
                f"callbacks.intervals.levels=[...] listing {level_name(level)}"
            ) from None
        except ValueError as err:
            raise ValueError(
                f"{source}: {err.args[0]}; ask for a lower level, or calibrate on more "
                "windows (a longer validation split, or more with --recalibrate)"
            ) from None
    return widths


def requested_widths(
    calibration: Calibration | None, levels: Levels | None, name: str
) -> dict[float, np.ndarray]:
    """The standardised half-widths (out_len, k) of each level of ``levels`` asked for
    (none for None or no levels), from ``calibration`` of the checkpoint ``name``; a
    one-line :class:`ForecastError` for levels it cannot give."""
    if levels is None or (isinstance(levels, Sequence) and not levels):
        return {}
    try:
        return half_widths(calibration, as_levels(levels), name)
    except ValueError as err:
        raise ForecastError(str(err)) from None


def forecast_widths(
    calibration: Calibration,
    levels: Iterable[float],
    scale: torch.Tensor,
    horizon: int,
    model: nn.Module,
    name: str,
    source: str | Path,
) -> dict[float, np.ndarray]:
    """The standardised half-widths (horizon, k) of each of ``levels`` for the forecast
    of a window of RevIN scale ``scale`` (1, 1, k); steps beyond the calibrated
    ``out_len`` get none (NaN). Warns when ``calibration`` carries a note, or was made in
    training units for a ``model`` that forecasts at each window's scale."""
    if calibration.note:
        warnings.warn(f"{source}: {calibration.note}", DataWarning, stacklevel=3)
    if not calibration.per_window and revin_of(model) is not None:
        warnings.warn(
            f"{name}: its intervals were calibrated in training units, so they do "
            "not follow a history at another scale as the forecast does; recalibrate "
            "them by training the model again",
            DataWarning,
            stacklevel=3,
        )
    widths = {lv: calibration.scaled(lv, scale)[0].double().numpy() for lv in levels}
    out_len, k = next(iter(widths.values())).shape
    if horizon > out_len:
        # Calibrated for the first out_len steps only: later steps get no interval.
        beyond = np.full((horizon - out_len, k), np.nan)
        widths = {lv: np.concatenate([r, beyond]) for lv, r in widths.items()}
    return widths


def recalibration(
    errors: np.ndarray, scales: np.ndarray, model: nn.Module, calibration: Calibration | None
) -> Calibration:
    """The calibration of ``model``'s absolute errors ``errors`` (n, out_len, k) on n
    windows of RevIN scales ``scales`` (n, k), with the levels and floors of the
    checkpoint's ``calibration`` (the default ones without)."""
    per_window = revin_of(model) is not None
    return calibrate(
        errors,
        calibration.levels if calibration else DEFAULT_LEVELS,
        scales if per_window else None,
        calibration.floors() if calibration else SCALE_FLOOR,
    )


class RecentCalibration:
    """Each window's intervals drawn from the model's errors on the ``windows`` latest
    windows whose every forecast step lies before its first, as darts' conformal models
    do: ``errors`` (n, out_len, k) and ``scales`` (n, k) are those of the windows whose
    forecasts start at rows ``first``, ``first + 1``, … of the history."""

    def __init__(
        self,
        errors: np.ndarray,
        scales: np.ndarray,
        first: int,
        windows: int,
        model: nn.Module,
        calibration: Calibration | None,
    ) -> None:
        self.errors, self.scales, self.first, self.windows = errors, scales, first, windows
        self.out_len = errors.shape[1]
        self.per_window = revin_of(model) is not None
        self.floor = calibration.floors() if calibration else SCALE_FLOOR
        # The checkpoint's levels (the default ones without) that so few windows bound.
        self.levels = [
            lv
            for lv in (calibration.levels if calibration else DEFAULT_LEVELS)
            if conformal_rank(windows, lv) <= windows
        ]

    def half_widths(self, rows: np.ndarray, scale: torch.Tensor) -> dict[float, torch.Tensor]:
        """The half-widths (b, out_len, k) of each level for the windows whose forecasts
        start at ``rows`` (b,), of RevIN scales ``scale`` (b, 1, k)."""
        parts: dict[float, list[torch.Tensor]] = {level: [] for level in self.levels}
        for i, row in enumerate(rows):
            last = int(row) - self.out_len - self.first  # the latest window before row
            window = slice(last - self.windows + 1, last + 1)
            scales = self.scales[window] if self.per_window else None
            recent = calibrate(self.errors[window], self.levels, scales, self.floor)
            for level in self.levels:
                parts[level].append(recent.scaled(level, scale[i : i + 1]))
        return {level: torch.cat(part) for level, part in parts.items()}


def add_interval_columns(
    forecast: pd.DataFrame, widths: dict[float, np.ndarray], std: np.ndarray
) -> pd.DataFrame:
    """``forecast`` (one column per series, original units) with, after each series, its
    ``SERIES_lo_<level>`` and ``SERIES_hi_<level>`` columns for every level of ``widths``
    (half-widths (out_len, c) in standardised units; ``std`` (c,) converts them)."""
    steps = len(forecast)
    columns: dict[str, np.ndarray] = {}
    for i, name in enumerate(forecast.columns):
        point = forecast[name].to_numpy()
        columns[name] = point
        for level, radius in sorted(widths.items()):
            half = radius[:steps, i] * std[i]
            columns[f"{name}_lo_{level_name(level)}"] = point - half
            columns[f"{name}_hi_{level_name(level)}"] = point + half
    return pd.DataFrame(columns, index=forecast.index)


def interval_levels(frame: pd.DataFrame, series: str) -> list[str]:
    """The level names of the interval columns of ``series`` in a wide forecast, in order."""
    prefix = f"{series}_lo_"
    return [
        c[len(prefix) :]
        for c in frame.columns
        if c.startswith(prefix) and f"{series}_hi_{c[len(prefix) :]}" in frame.columns
    ]


def to_long_with_intervals(frame: pd.DataFrame, series: Sequence[str]) -> pd.DataFrame:
    """The long table of a wide forecast: ``unique_id, ds, y`` and, when it has intervals,
    ``lo_<level>, hi_<level>`` for each level."""
    levels = interval_levels(frame, series[0]) if series else []
    long = to_long(frame[list(series)])
    for level in levels:
        for side in ("lo", "hi"):
            part = frame[[f"{s}_{side}_{level}" for s in series]].set_axis(list(series), axis=1)
            long[f"{side}_{level}"] = to_long(part)["y"].to_numpy()
    return long


def to_nixtla(frame: pd.DataFrame, series: Sequence[str], model: str) -> pd.DataFrame:
    """The long table of a wide forecast as Nixtla's libraries give one: ``unique_id, ds``,
    the forecast in a column named after ``model``, and ``MODEL-lo-80, MODEL-hi-80`` … for
    each interval level."""
    long = to_long_with_intervals(frame, series)
    names = {"y": model}
    for level in interval_levels(frame, series[0]) if series else []:
        names |= {f"lo_{level}": f"{model}-lo-{level}", f"hi_{level}": f"{model}-hi-{level}"}
    return long.rename(columns=names).reset_index(drop=True)
