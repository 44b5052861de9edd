"""Calendar features: the sines and cosines of a known date, and the windows' future
part holding those of the horizon's timestamps and the future columns."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from stanhop.data import DataError, SyntheticSource, TimeSeriesDataModule
from stanhop.data.calendar import (
    CALENDAR,
    calendar_columns,
    calendar_features,
    check_calendar,
)
from stanhop.data.targets import future_indices


def test_the_features_of_a_known_date() -> None:
    # Friday 15 March 2024, 18:30: hour 18 of 24, weekday 4 of 7 (Monday 0), day 14 of
    # 31 (from 0), day 74 of 366 (31 + 29 + 15 - 1), month 2 of 12 (from 0), minute 30.
    stamp = pd.DatetimeIndex(["2024-03-15 18:30"])
    names = ["hour", "dayofweek", "dayofmonth", "dayofyear", "month", "minute"]
    got = calendar_features(stamp, names)[0]
    turns = np.array([18 / 24, 4 / 7, 14 / 31, 74 / 366, 2 / 12, 30 / 60])
    expected = np.stack([np.sin(2 * np.pi * turns), np.cos(2 * np.pi * turns)], 1).ravel()
    np.testing.assert_allclose(got, expected, atol=1e-12)
    assert got[:2] == pytest.approx([-1.0, 0.0], abs=1e-12)  # 18:00 is three quarters round
    assert calendar_columns(["hour", "month"]) == ["hour_sin", "hour_cos", "month_sin", "month_cos"]


def test_the_features_use_no_deprecated_pandas_accessor() -> None:
    stamps = pd.date_range("2024-03-15", periods=48, freq="h")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pandas deprecations included
        calendar_features(stamps, list(CALENDAR))


def test_bad_names_are_one_line_errors() -> None:
    with pytest.raises(DataError, match=r"^f\.csv: data\.calendar names 'weekday', not a"):
        check_calendar(["hour", "weekday"], "f.csv")
    with pytest.raises(DataError, match=r"^f\.csv: data\.future names the target 'a', whose"):
        future_indices(["a", "b"], ["a"], ["a"], "f.csv")
    with pytest.raises(DataError, match=r"^f\.csv: data\.future names 'z', not a column"):
        future_indices(["a", "b"], ["z"], ["a"], "f.csv")


def test_windows_carry_the_horizon_calendar_and_future_columns() -> None:
    source = SyntheticSource(n_series=3, n_steps=500, seed=1)
    dm = TimeSeriesDataModule(
        source, 24, 6, targets=["s0"], calendar=["hour", "dayofweek"], future=["s2"]
    )
    dm.setup()
    assert dm.n_future == 5
    frame = source.load()
    x, y, future = dm.datasets["train"][10]
    horizon = frame.index[34:40]
    np.testing.assert_allclose(
        future[:, :4].numpy(), calendar_features(horizon, ["hour", "dayofweek"]), atol=1e-6
    )
    train = frame.iloc[: dm.bounds["train"][1]]["s2"]
    scaled = (frame["s2"].iloc[34:40] - train.mean()) / train.std(ddof=0)
    np.testing.assert_allclose(future[:, 4].numpy(), scaled.to_numpy(), rtol=1e-5, atol=1e-5)
    assert x.shape == (24, 3) and y.shape == (6, 1)
