"""The synthetic generator: shape, determinism, and the structure it promises."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stanhop.data import infer_freq, make_flat_stretches, make_synthetic


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


def test_flat_stretches_hold_runs_of_zeros_and_a_stuck_sensor() -> None:
    frame = make_flat_stretches(seed=2)
    pd.testing.assert_frame_equal(frame, make_flat_stretches(seed=2))
    off = frame["onoff"].to_numpy() == 0
    # runs of 2 to 14 days: where the load switches, from one run to the next
    switches = np.flatnonzero(np.diff(off.astype(int))) + 1
    runs = np.diff(np.concatenate([[0], switches, [len(off)]]))
    assert off[0] and runs[:-1].min() >= 48 and runs.max() < 14 * 24
    on = frame["onoff"].to_numpy()[~off]
    assert on.min() > 4 and on.max() < 17  # levels of 5 to 15, noise of 0.5
    # the sensor holds its reading over every run of zeros after the first
    stuck = frame["stuck"].to_numpy()
    assert (np.diff(stuck)[off[1:] & (np.arange(1, len(off)) >= runs[0])] == 0).all()
    assert (np.diff(stuck)[~off[1:]] != 0).all()
    assert np.diff(frame["wave"].to_numpy()).all()
