"""The synthetic generator: shape, determinism, and the structure it promises."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stanhop.data import infer_freq, make_synthetic


def autocorrelation(x: np.ndarray, lag: int) -> float:
    return float(np.corrcoef(x[lag:], x[:-lag])[0, 1])


def test_shape_index_and_columns() -> None:
    frame = make_synthetic(n_series=4, n_steps=500, start="2023-03-01")
    assert frame.shape == (500, 4)
    assert list(frame.columns) == ["s0", "s1", "s2", "s3"]
    assert frame.index.name == "date" and frame.index[0] == pd.Timestamp("2023-03-01")
    assert infer_freq(frame.index) == "h"
    assert np.isfinite(frame.to_numpy()).all()


def test_default_size_is_26_weeks_of_7_series() -> None:
    assert make_synthetic().shape == (24 * 7 * 26, 7)


def test_same_seed_same_data_other_seed_other_data() -> None:
    pd.testing.assert_frame_equal(make_synthetic(seed=3), make_synthetic(seed=3))
    assert not np.allclose(make_synthetic(seed=3).to_numpy(), make_synthetic(seed=4).to_numpy())


def test_daily_cycle() -> None:
    frame = make_synthetic(seed=0)
    # Without what varies more slowly than a day (a 24-hour moving average removes the
    # daily cycle and keeps the rest), values a day apart agree and half a day apart
    # oppose each other.
    daily = (frame - frame.rolling(24, center=True).mean()).dropna()
    for name in frame.columns:
        assert autocorrelation(frame[name].to_numpy(), 24) > 0.5
        assert autocorrelation(daily[name].to_numpy(), 24) > 0.5
        assert autocorrelation(daily[name].to_numpy(), 12) < -0.5


def test_sudden_events_stand_out_of_the_hourly_changes() -> None:
    steps = np.abs(np.diff(make_synthetic(seed=0).to_numpy(), axis=0))
    assert (steps.max(axis=0) > 3 * np.median(steps, axis=0)).all()
