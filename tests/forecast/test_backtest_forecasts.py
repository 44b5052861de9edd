"""stanhop-evaluate --forecasts: every window's forecast in long format, from which the
reported errors and interval coverage follow again."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stanhop.cli.evaluate import main
from stanhop.forecast import Forecaster
from stanhop.forecast.backtest import backtest


def test_the_forecasts_file_reproduces_the_reported_errors(synthetic_run, tmp_path, capsys):
    history = tmp_path / "history.csv"
    history.write_bytes(synthetic_run.csv.read_bytes())
    out, forecasts = tmp_path / "windows.csv", tmp_path / "forecasts.csv"
    start = str(synthetic_run.frame.index[-100])
    args = [str(synthetic_run.ckpt), str(history), "--start", start, "--stride", "5"]
    assert main([*args, "--out", str(out), "--forecasts", str(forecasts)]) == 0
    windows = pd.read_csv(out, index_col=0, parse_dates=True)
    table = pd.read_csv(forecasts, parse_dates=["origin", "timestamp"])
    n_series, out_len = 3, 12
    assert len(table) == len(windows) * out_len * n_series
    assert list(table.columns[:6]) == [
        "origin",
        "step",
        "timestamp",
        "series",
        "actual",
        "forecast",
    ]
    # Actual values are the history's, at each row's own timestamp.
    frame = synthetic_run.frame
    looked_up = [frame.at[t, s] for t, s in zip(table["timestamp"], table["series"], strict=True)]
    np.testing.assert_array_equal(table["actual"], looked_up)
    assert (table["timestamp"] - table["origin"] == pd.to_timedelta(table["step"] - 1, "h")).all()
    # Each window's errors, in original units, are those of the windows file.
    err = table["forecast"] - table["actual"]
    per_window = err.pow(2).groupby(table["origin"]).mean()
    # (the windows file scores float32 standardised values: equal to float32 precision)
    np.testing.assert_allclose(per_window.to_numpy(), windows["model_mse_orig"], rtol=1e-5)
    for level in (50, 80):
        inside = (table["actual"] >= table[f"lo_{level}"]) & (
            table["actual"] <= table[f"hi_{level}"]
        )
        coverage = inside.groupby(table["origin"]).mean().to_numpy()
        np.testing.assert_allclose(coverage, windows[f"coverage_{level}"], atol=1e-9)
    assert f"wrote {forecasts}: {len(table)} forecast values" in capsys.readouterr().out


def test_forecasts_may_not_overwrite_the_windows_file(synthetic_run, tmp_path, capsys) -> None:
    history = tmp_path / "history.csv"
    history.write_bytes(synthetic_run.csv.read_bytes())
    same = tmp_path / "same.csv"
    args = [str(synthetic_run.ckpt), str(history), "--out", str(same), "--forecasts", str(same)]
    assert main(args) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {same}: is also --out; give --forecasts another name"
    )
    assert not same.exists()


def test_error_by_step_follows_from_the_forecasts_and_averages_to_the_summary(
    synthetic_run, tmp_path
) -> None:
    forecaster = Forecaster.load(synthetic_run.ckpt)
    history = forecaster.read_history(synthetic_run.csv)
    result = backtest(forecaster, history, start=history.index[-100], stride=5, keep_forecasts=True)
    by_step = result.by_step
    assert list(by_step.index) == list(range(1, forecaster.out_len + 1))
    # Every step holds as many values, so the steps' mean is the mean over every value.
    for name in by_step.columns:
        assert by_step[name].mean() == pytest.approx(result.summary.loc[name, "mse"], rel=1e-9)
    # The model's column from the long forecasts, standardised by each series' scale.
    table = result.forecasts
    std = dict(zip(forecaster.targets, forecaster.target_scaler.std, strict=True))
    z = (table["forecast"] - table["actual"]) / table["series"].map(std)
    np.testing.assert_allclose(z.pow(2).groupby(table["step"]).mean(), by_step["model"], rtol=1e-5)


def test_the_plot_of_error_by_step_is_written(synthetic_run, tmp_path, capsys) -> None:
    history = tmp_path / "history.csv"
    history.write_bytes(synthetic_run.csv.read_bytes())
    plot = tmp_path / "steps.png"
    args = [str(synthetic_run.ckpt), str(history), "--stride", "24", "--plot", str(plot)]
    assert main([*args, "--out", str(tmp_path / "w.csv")]) == 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {plot}: the error of each forecast by horizon step" in capsys.readouterr().out
