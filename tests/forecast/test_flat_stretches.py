"""Prediction intervals on series with flat stretches (a stuck sensor, runs of zeros, then
a step): the scale of a flat window is floored and flat windows are calibrated apart, so
their bands keep a meaningful width; forecasts and backtests from flat windows warn, and
``--strict`` stops at it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from stanhop.cli.evaluate import main as evaluate
from stanhop.cli.forecast import main as forecast
from stanhop.data import DataWarning, from_csv
from stanhop.files.checkpoint import INTERVALS_KEY, load_checkpoint
from stanhop.forecast import Forecaster
from stanhop.forecast.backtest import backtest
from stanhop.measures.conformal import Calibration

FLOOR = 0.02  # of each series' training standard deviation


def revin_std(x: np.ndarray) -> np.ndarray:
    """RevIN's scale of windows (..., in_len, c): population std, eps 1e-5 on the variance."""
    return np.sqrt(x.astype(np.float64).var(axis=-2) + 1e-5)


def last_zero_run_end(frame) -> int:
    """The row count of the history ending with the last run of zeros of ``onoff``."""
    zero = frame["onoff"].to_numpy() == 0
    return int(np.flatnonzero(zero)[-1]) + 1


def test_the_stored_calibration_floors_flat_windows_and_calibrates_them_apart(flat_run) -> None:
    """Recomputed by hand from every validation window: each error divided by the
    window's RevIN std floored at 0.02 of the series' training std, the conformal quantile
    taken over the flat windows (std below the floor) and the others apart."""
    forecaster = Forecaster.load(flat_run.ckpt)
    stored = Calibration.from_dict(load_checkpoint(flat_run.ckpt)[INTERVALS_KEY])
    datamodule = from_csv(flat_run.csv, forecaster.in_len, forecaster.out_len)
    datamodule.setup()
    floor = FLOOR * datamodule.datasets["train"].values.numpy().astype(np.float64).std(axis=0)
    np.testing.assert_allclose(stored.floors(), floor, rtol=1e-6)
    val = datamodule.datasets["val"]
    xs = np.stack([val[i][0].numpy() for i in range(len(val))])  # (n, in_len, c)
    ys = np.stack([val[i][1].numpy() for i in range(len(val))])  # (n, out_len, c)
    pred = forecaster.model(val.values.new_tensor(xs)).detach().numpy()
    scale = revin_std(xs)  # (n, c)
    flat = scale < floor
    assert flat[:, 1:].mean() > 0.3 and not flat[:, 0].any()  # stuck and onoff, not wave
    scores = np.abs(pred - ys) / np.maximum(scale, floor)[:, None, :]
    for level in (50, 80, 95):
        index = stored.levels.index(level)
        for c in range(3):
            pooled = conformal_by_hand(scores[:, :, c], level)
            for group, radius in ((~flat[:, c], stored.radius), (flat[:, c], stored.flat_radius)):
                own = conformal_by_hand(scores[group, :, c], level)
                expected = own if np.isfinite(own).all() else pooled  # wave has no flat window
                np.testing.assert_allclose(radius[index][:, c], expected, rtol=1e-4, atol=1e-6)


def conformal_by_hand(scores: np.ndarray, level: float) -> np.ndarray:
    """The ceil((n + 1) · level)-th smallest of the n rows of ``scores``, inf past n."""
    k = int(np.ceil((len(scores) + 1) * level / 100))
    return np.sort(scores, axis=0)[k - 1] if k <= len(scores) else np.full(scores.shape[1], np.inf)


def test_a_flat_history_gets_the_band_of_flat_windows(flat_run) -> None:
    """A history ending in a run of zeros: its band is the flat windows' radius times the
    floor (0.02 of the training std), not times the window's std of 0.003, which left
    almost no band on a series stepping between 0 and 15."""
    forecaster = Forecaster.load(flat_run.ckpt)
    history = flat_run.frame.iloc[: last_zero_run_end(flat_run.frame)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        banded = forecaster.predict(history, intervals=[80, 99])
    # the step out of a run of zeros is 5 to 15: the 99 % band must reach a good part of it
    assert (banded["onoff_hi_99"] - banded["onoff"]).max() > 2.0
    stored = forecaster.intervals
    std = forecaster.scaler.std[2]
    train = flat_run.frame["onoff"].iloc[: int(len(flat_run.frame) * 0.7)]
    assert std == pytest.approx(train.std(ddof=0), rel=1e-9)  # the training rows' std
    for level in (80, 99):
        expected = stored.flat_radius[stored.levels.index(level)][:, 2] * FLOOR * std
        half = banded[f"onoff_hi_{level}"] - banded["onoff"]
        np.testing.assert_allclose(half, expected, rtol=1e-5)


def test_a_flat_history_warns_in_one_line(flat_run) -> None:
    forecaster = Forecaster.load(flat_run.ckpt)
    history = flat_run.frame.iloc[: last_zero_run_end(flat_run.frame)]
    with pytest.warns(DataWarning) as caught:
        forecaster.predict(history)
    assert [str(w.message) for w in caught] == [
        "DataFrame: series 'stuck', 'onoff' flat over the last 48 rows (a spread under 0.02 of "
        "the training spread): the model forecasts each window on its own scale, so a flat "
        "window gets a flat forecast that foresees no step out of it"
    ]


def backtest_last_fifth(forecaster: Forecaster, frame):
    """The backtest of every window forecasting the last 20 % of ``frame``, and the
    warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = backtest(forecaster, frame, start=frame.index[int(len(frame) * 0.8)])
    return result, [str(w.message) for w in caught]


def test_a_backtest_keeps_its_widest_band_bounded(flat_run) -> None:
    result, _ = backtest_last_fifth(Forecaster.load(flat_run.ckpt), flat_run.frame)
    # Dividing by a flat window's std of 0.003 made the 99 % band hundreds of training
    # standard deviations wide on average; the values span about 3 of them.
    assert result.coverage[99][1] < 10
    assert result.coverage[99][0] > 0.95


def test_a_backtest_counts_its_flat_windows_in_one_warning(flat_run) -> None:
    forecaster = Forecaster.load(flat_run.ckpt)
    frame = flat_run.frame
    result, messages = backtest_last_fifth(forecaster, frame)
    windows = len(result.windows)
    x = np.lib.stride_tricks.sliding_window_view(
        forecaster.scaler.transform(frame.to_numpy())[:-1], forecaster.in_len, axis=0
    )[-windows - forecaster.out_len + 1 :][:windows]  # (windows, c, in_len): their inputs
    flat = revin_std(x.transpose(0, 2, 1)) < FLOOR  # (windows, c)
    assert messages == [
        f"history: series 'stuck' in {flat[:, 1].sum()}, 'onoff' in {flat[:, 2].sum()} of the "
        f"{windows} backtest windows flat (a spread under 0.02 of the training spread): the "
        "model forecasts each window on its own scale, so a flat window gets a flat forecast "
        "that foresees no step out of it"
    ]


@pytest.mark.parametrize("command", ["forecast", "evaluate"])
def test_strict_makes_a_flat_window_an_error(flat_run, tmp_path, capsys, command) -> None:
    history = tmp_path / "zeros.csv"
    flat_run.frame.iloc[: last_zero_run_end(flat_run.frame)].to_csv(history)
    out = tmp_path / "out.csv"
    argv = [str(flat_run.ckpt), str(history), "--strict"]
    if command == "forecast":
        status = forecast([*argv, "-o", str(out), "--intervals", "80"])
    else:
        status = evaluate([*argv, "--out", str(out), "--stride", "24"])
    err = capsys.readouterr().err
    assert status == 2 and not out.exists()
    assert err.startswith("error: ") and err.count("\n") == 1 and "flat" in err
