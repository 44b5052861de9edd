"""Prediction intervals in forecast tables: which levels a user asks for, and the columns
they add (``SERIES_lo_80``, ``SERIES_hi_80`` in the wide layout; ``lo_80``, ``hi_80`` in
the long one)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from stanhop.data import to_long
from stanhop.measures.conformal import Calibration, check_level, level_name

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
