"""Forecasts that need no training, the yardstick of a trained model: a model that does
not beat repeating the last value (persistence) or the last season (seasonal naive) has
learned nothing useful."""

from __future__ import annotations

import pandas as pd
import torch

# The season of a frequency, in its own steps: one day for sub-daily data, one week for
# daily, one year for weekly, monthly and quarterly data.
_SEASON_OF_PERIOD = {"B": 5, "D": 7, "W": 52, "M": 12, "Q": 4}


def persistence(x: torch.Tensor, out_len: int) -> torch.Tensor:
    """``x``: (b, in_len, c) → the last step repeated, (b, out_len, c)."""
    return x[:, -1:].expand(-1, out_len, -1)


def seasonal_naive(x: torch.Tensor, out_len: int, season: int) -> torch.Tensor:
    """``x``: (b, in_len, c) → the last ``season`` steps repeated, (b, out_len, c)."""
    if not 1 <= season <= x.shape[1]:
        raise ValueError(f"season {season} must be between 1 and in_len {x.shape[1]}")
    steps = x.shape[1] - season + torch.arange(out_len, device=x.device) % season
    return x[:, steps]


def season_length(freq: str | None) -> int | None:
    """The number of steps in one season of data at frequency ``freq`` (a pandas alias):
    a day of sub-daily steps (24 for ``h``, 96 for ``15min``), a week of days (7), a year
    of weeks (52), months (12) or quarters (4); None for an unknown or yearly frequency."""
    if not freq:
        return None
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except ValueError:
        return None
    try:
        step = pd.Timedelta(offset)
    except ValueError:  # calendar offsets (months, weeks anchored on a day …) have no fixed span
        step = None
    if step is not None and step < pd.Timedelta(days=1):
        day = pd.Timedelta(days=1)
        return day // step if day % step == pd.Timedelta(0) else None
    if step == pd.Timedelta(days=1):
        return _SEASON_OF_PERIOD["D"]
    # The period code's first letter: "W-SUN" → W, "MS"/"ME" → M, "QS-DEC" → Q, "B" → B.
    code = offset.name.split("-")[0][:1]
    return _SEASON_OF_PERIOD.get(code)
