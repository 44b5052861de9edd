"""Calendar features: where each timestamp falls in the day, week and year, encoded
cyclically (a sine and a cosine per feature) so that 23:00 lies next to 00:00 and
December next to January. They are known for any future timestamp, so a model can
receive them for the steps it forecasts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from stanhop.data.errors import DataError
from stanhop.data.messages import listing

# name -> (position of a timestamp in its cycle, counted from 0; steps in the cycle)
CALENDAR: dict[str, tuple[Callable[[pd.DatetimeIndex], np.ndarray], int]] = {
    "minute": (lambda index: index.minute, 60),
    "hour": (lambda index: index.hour, 24),
    "dayofweek": (lambda index: index.day_of_week, 7),
    "dayofmonth": (lambda index: index.day - 1, 31),
    "dayofyear": (lambda index: index.day_of_year - 1, 366),
    "month": (lambda index: index.month - 1, 12),
}


def check_calendar(names: Sequence[str], source: str | Path) -> list[str]:
    """``names`` as a list after checking each is a feature of :data:`CALENDAR`."""
    names = [str(n) for n in names]
    unknown = [n for n in names if n not in CALENDAR]
    if unknown:
        raise DataError(
            f"{source}: data.calendar names {listing(unknown)}, not a calendar feature; "
            f"choose from {listing(list(CALENDAR))}"
        )
    if len(set(names)) != len(names):
        raise DataError(f"{source}: data.calendar names a feature twice; name each once")
    return names


def calendar_columns(names: Sequence[str]) -> list[str]:
    """The column names of :func:`calendar_features`: ``hour_sin, hour_cos, …``."""
    return [f"{n}_{part}" for n in names for part in ("sin", "cos")]


def calendar_features(index: pd.DatetimeIndex, names: Sequence[str]) -> np.ndarray:
    """``(t, 2 · len(names))`` float64: for each feature, ``sin(2π v / p)`` and
    ``cos(2π v / p)`` of its position ``v`` in a cycle of ``p`` steps."""
    columns = []
    for name in names:
        position, period = CALENDAR[name]
        angle = 2 * np.pi * np.asarray(position(index), dtype=np.float64) / period
        columns += [np.sin(angle), np.cos(angle)]
    return np.stack(columns, axis=1) if columns else np.zeros((len(index), 0))


def known_inputs(index: pd.DatetimeIndex, names: Sequence[str], future: np.ndarray) -> np.ndarray:
    """What a model knows of the rows ``index`` in advance, its known-future input
    ``(t, f)``: the calendar features ``names`` of ``index``, then the future covariates'
    values ``future`` ``(t, v)``, standardised as in training. Training and forecasting
    both build it here, so the model reads the same columns in the same order."""
    return np.concatenate([calendar_features(index, names), future], axis=1)
