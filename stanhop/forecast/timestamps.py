"""The timestamps of a forecast: the input's, continued at its frequency."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from stanhop.data import DataError, DataWarning, infer_freq
from stanhop.data.regular import describe_step


def future_index(
    index: pd.DatetimeIndex, horizon: int, trained_freq: str | None, source: str | Path
) -> pd.DatetimeIndex:
    """The ``horizon`` timestamps after ``index[-1]``, stepping at the frequency of
    ``index`` (the history the model reads).

    When pandas cannot infer that frequency (too few timestamps, or one it cannot name)
    but the timestamps fit ``trained_freq``, the frequency of the training data, that is
    used. Irregular timestamps are a :class:`DataError` naming the first odd step; a
    frequency that differs from the training data's is a :class:`DataWarning`.
    """
    freq = infer_freq(index)
    if freq is None:
        if not trained_freq or not _fits(index, trained_freq):
            raise DataError(_irregular(index, source, trained_freq))
        freq = trained_freq
    elif trained_freq and to_offset(freq) != to_offset(trained_freq):
        warnings.warn(
            f"{source}: the timestamps step at frequency {freq!r} but the model was trained "
            f"on {trained_freq!r} data; the forecast continues at {freq!r}",
            DataWarning,
            stacklevel=3,
        )
    steps = pd.date_range(index[-1], periods=horizon + 1, freq=freq, name=index.name)
    return steps[1:]


def _fits(index: pd.DatetimeIndex, freq: str) -> bool:
    """Whether ``index`` is exactly the regular range of ``freq`` from its first stamp."""
    regular = pd.date_range(index[0], periods=len(index), freq=freq)
    return np.array_equal(regular.asi8, index.asi8)


def _irregular(index: pd.DatetimeIndex, source: str | Path, trained_freq: str | None) -> str:
    steps = pd.Series(index[1:] - index[:-1], index=index[1:])
    if len(index) < 3:  # infer_freq needs three; without a trained frequency to check
        detail = f"{len(index)} timestamp(s) are too few to tell the frequency"
    else:
        usual = steps.mode().iloc[0]
        odd = steps[steps != usual]
        if odd.empty:
            detail = f"every step is {describe_step(usual)}, a frequency pandas cannot name"
        else:
            end = odd.index[0]
            start = index[index.get_loc(end) - 1]
            detail = (
                f"the step from {start} to {end} is {describe_step(odd.iloc[0])}, elsewhere "
                f"{describe_step(usual)}"
            )
    example = trained_freq or "h"
    return (
        f"{source}: the timestamps are irregular ({detail}), so the forecast's timestamps "
        f"cannot be continued; resample the data to one frequency (e.g. pandas' "
        f"df.resample({example!r}).mean()) and fill the gaps (nan_policy ffill or "
        "interpolate)"
    )
