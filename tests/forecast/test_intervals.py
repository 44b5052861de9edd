"""Prediction intervals in forecasts: the columns of the Python API and the command, the
long layout, the plot's bands, and one-line errors where they cannot be given."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.collections import PolyCollection

from stanhop.cli.forecast import main
from stanhop.data import DataWarning, to_long
from stanhop.files.checkpoint import INTERVALS_KEY, load_checkpoint
from stanhop.forecast import Forecaster, ForecastError
from stanhop.forecast.backtest import backtest
from stanhop.forecast.plot import plot_forecast
from stanhop.measures.conformal import Calibration


def test_bounds_are_the_forecast_plus_minus_the_stored_half_width(synthetic_run) -> None:
    forecaster = Forecaster.load(synthetic_run.ckpt)
    plain = forecaster.predict(synthetic_run.csv)
    banded = forecaster.predict(synthetic_run.csv, intervals=[80, 95])
    stored = Calibration.from_dict(load_checkpoint(synthetic_run.ckpt)[INTERVALS_KEY])
    assert stored.per_window  # the model has RevIN
    scaler = load_checkpoint(synthetic_run.ckpt)["hyper_parameters"]["scaler"]
    mean, std = np.asarray(scaler["mean"]), np.asarray(scaler["std"])
    # RevIN's scale of the window the model reads: the standardised last in_len rows
    window = (synthetic_run.frame.to_numpy()[-forecaster.in_len :] - mean) / std
    window_std = np.sqrt(window.var(axis=0) + 1e-5)
    expected = []
    for i, name in enumerate(plain.columns):
        expected += [name] + [f"{name}_{side}_{lv}" for lv in (80, 95) for side in ("lo", "hi")]
        for level in (80, 95):
            half = stored.half_width(level)[:, i] * window_std[i] * std[i]
            np.testing.assert_allclose(banded[f"{name}_lo_{level}"], plain[name] - half, atol=1e-6)
            np.testing.assert_allclose(banded[f"{name}_hi_{level}"], plain[name] + half, atol=1e-6)
    assert list(banded.columns) == expected
    pd.testing.assert_frame_equal(banded[list(plain.columns)], plain)


def test_a_shorter_horizon_keeps_the_first_steps_widths(synthetic_run) -> None:
    forecaster = Forecaster.load(synthetic_run.ckpt)
    full = forecaster.predict(synthetic_run.csv, intervals=[90])
    short = forecaster.predict(synthetic_run.csv, horizon=3, intervals=[90])
    pd.testing.assert_frame_equal(short, full.iloc[:3])


def test_the_command_writes_wide_and_long_interval_columns(synthetic_run, tmp_path) -> None:
    wide, long = tmp_path / "wide.csv", tmp_path / "long.csv"
    assert main([str(synthetic_run.ckpt), str(synthetic_run.csv), "-o", str(wide),
                 "--intervals", "80,95"]) == 0  # fmt: skip
    frame = pd.read_csv(wide, index_col=0)
    assert "s0_lo_80" in frame and "s2_hi_95" in frame
    long_input = tmp_path / "history_long.csv"
    to_long(synthetic_run.frame).to_csv(long_input, index=False)
    assert main([str(synthetic_run.ckpt), str(long_input), "-o", str(long), "--format", "long",
                 "--intervals", "80,95"]) == 0  # fmt: skip
    table = pd.read_csv(long)
    assert list(table.columns) == ["unique_id", "ds", "y", "lo_80", "hi_80", "lo_95", "hi_95"]
    s1 = table[table.unique_id == "s1"]
    # The two inputs are different CSV texts of the same values: equal to float32 rounding.
    np.testing.assert_allclose(s1["lo_95"], frame["s1_lo_95"], rtol=1e-6)
    np.testing.assert_allclose(s1["hi_80"], frame["s1_hi_80"], rtol=1e-6)


def test_the_plot_shades_one_band_per_level_and_series(synthetic_run) -> None:
    forecaster = Forecaster.load(synthetic_run.ckpt)
    history = forecaster.read_history(synthetic_run.csv)
    forecast = forecaster.predict_history(history, intervals=[80, 95])
    fig = plot_forecast(history.iloc[-forecaster.in_len :], forecast)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 3  # one per series, none for the interval columns
    for ax in panels:
        assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 2


def old_checkpoint(synthetic_run, tmp_path):
    checkpoint = load_checkpoint(synthetic_run.ckpt)
    del checkpoint[INTERVALS_KEY]
    path = tmp_path / "old.ckpt"
    torch.save(checkpoint, path)
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--intervals", "80"], "this checkpoint has no prediction intervals"),
        (["--intervals", "70"], "level 70 is not calibrated (the levels are 50, 80, 90, 95, 99)"),
        (["--intervals", "80,abc"], "give levels in percent between 0 and 100"),
        (["--intervals", "100"], "give levels in percent between 0 and 100"),
        (["--intervals", "99"], "level 99 needs at least 99 calibration windows"),
    ],
)
def test_intervals_that_cannot_be_given_are_one_line_errors(
    synthetic_run, tmp_path, capsys, args, message
) -> None:
    ckpt = old_checkpoint(synthetic_run, tmp_path) if "no prediction" in message else None
    out = tmp_path / "out.csv"
    argv = [str(ckpt or synthetic_run.ckpt), str(synthetic_run.csv), "-o", str(out), *args]
    assert exit_status(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err
    assert not out.exists()


def exit_status(argv: list[str]) -> int | str | None:
    """The command's exit status, whether it returns it or argparse exits with it."""
    try:
        return main(argv)
    except SystemExit as exit:
        return exit.code


def test_the_python_api_raises_a_forecast_error(synthetic_run, tmp_path) -> None:
    old = Forecaster.load(old_checkpoint(synthetic_run, tmp_path))
    with pytest.raises(ForecastError, match="train it again with the default callbacks"):
        old.predict(synthetic_run.csv, intervals=[80])


def test_quantized_intervals_come_with_a_warning(synthetic_run) -> None:
    forecaster = Forecaster.load(synthetic_run.ckpt)
    history = forecaster.read_history(synthetic_run.csv)
    quantized = forecaster.quantized(history, "W8A8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quantized.predict_history(history, intervals=[80])
    assert any(
        issubclass(w.category, DataWarning) and "calibrated on the float model" in str(w.message)
        for w in caught
    )


@pytest.mark.parametrize("factor", [3.0, 0.2])
def test_intervals_follow_a_history_at_another_scale(synthetic_run, factor) -> None:
    # RevIN forecasts each window on its own scale: a history at 3x (or 0.2x) the training
    # data's gives forecasts and errors at 3x; the intervals must grow with them
    forecaster = Forecaster.load(synthetic_run.ckpt)
    history = synthetic_run.frame
    mean = history.mean()
    base = backtest(forecaster, history, stride=5).coverage
    scaled = backtest(forecaster, (history - mean) * factor + mean, stride=5).coverage
    for level in (80, 95):
        assert abs(scaled[level][0] - base[level][0]) < 0.03, (level, base, scaled)
        # the mean width (standardised by the training data) grows by the same factor
        assert scaled[level][1] == pytest.approx(base[level][1] * factor, rel=0.02)


def test_a_checkpoint_calibrated_in_training_units_still_forecasts_with_a_warning(
    synthetic_run, tmp_path
) -> None:
    checkpoint = load_checkpoint(synthetic_run.ckpt)
    del checkpoint[INTERVALS_KEY]["per_window"]  # as written before the per-window scale
    path = tmp_path / "old.ckpt"
    torch.save(checkpoint, path)
    forecaster = Forecaster.load(path)
    assert not forecaster.intervals.per_window
    with pytest.warns(DataWarning, match="calibrated in training units.*training the model again"):
        banded = forecaster.predict(synthetic_run.csv, intervals=[80])
    std = np.asarray(checkpoint["hyper_parameters"]["scaler"]["std"])
    half = forecaster.intervals.half_width(80)[:, 0] * std[0]
    np.testing.assert_allclose(banded["s0_hi_80"] - banded["s0"], half, rtol=1e-6)
