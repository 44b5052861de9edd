"""Targets and past covariates end to end: a run trained with ``data.targets`` scores the
targets alone (its metrics equal numpy on the target columns), a constant covariate
changes nothing whatever its value, the checkpoint records the roles, forecasts and
backtests hold the targets only, and wrong names or a missing covariate are one line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from stanhop import Forecaster
from stanhop.data import make_synthetic
from stanhop.files.checkpoint import load_checkpoint
from stanhop.forecast.backtest import backtest
from stanhop.training.train import train

ROOT = Path(__file__).resolve().parents[2]
IN_LEN, OUT_LEN, SEASON = 48, 12, 24
FAST = ("debug=fast", "logger=none", "callbacks.outliers=null", "callbacks.quantization=null")


def covariate_csv(path: Path, constant: float = 5.0) -> pd.DataFrame:
    """Three hourly series and a constant column ``k``, written to ``path``."""
    frame = make_synthetic(n_series=3, n_steps=24 * 30, seed=4)
    frame["k"] = constant
    frame.to_csv(path)
    return frame


def train_targets(composer, root: Path, csv: Path, *extra: str) -> tuple[dict, Path]:
    overrides = [*FAST, "data=csv", f"data.path={csv}", "data.targets=[s2,s0]", *extra]
    metrics = train(composer(root / "run", root / "data", *overrides))
    return metrics, root / "run" / "checkpoints" / "best.ckpt"


@pytest.fixture(scope="module")
def target_run(tmp_path_factory, composer):
    root = tmp_path_factory.mktemp("targets")
    frame = covariate_csv(root / "series.csv")
    metrics, ckpt = train_targets(
        composer, root, root / "series.csv", "trainer.limit_test_batches=1.0"
    )
    return frame, metrics, ckpt, root / "series.csv"


def numpy_test_errors(frame: pd.DataFrame, forecaster: Forecaster) -> dict[str, float]:
    """The test metrics recomputed with numpy from the CSV's frame: the 70/10/20 split,
    the training rows' mean and std, every test window, the target columns s2, s0."""
    values = frame.to_numpy(np.float64)
    n = len(values)
    n_train, n_test = int(0.7 * n), int(0.2 * n)
    train_rows = values[:n_train]
    std = train_rows.std(0)
    std[np.ptp(train_rows, 0) == 0] = 1.0
    scaled = (values - train_rows.mean(0)) / std
    targets = [2, 0]
    first = n - n_test - IN_LEN
    starts = range(first, n - IN_LEN - OUT_LEN + 1)
    x = np.stack([scaled[s : s + IN_LEN] for s in starts])
    y = np.stack([scaled[s + IN_LEN : s + IN_LEN + OUT_LEN] for s in starts])[..., targets]
    with torch.no_grad():
        pred = forecaster.model(torch.as_tensor(x, dtype=torch.float32)).double().numpy()
    naive = x[:, IN_LEN - SEASON + np.arange(OUT_LEN) % SEASON][..., targets]
    err = pred - y
    return {
        "test/mse": np.mean(err**2),
        "test/mae": np.mean(np.abs(err)),
        "test/mse_orig": np.mean((err * std[targets]) ** 2),
        "test/seasonal_naive_mse": np.mean((naive - y) ** 2),
    }


def test_metrics_cover_the_targets_alone(target_run) -> None:
    frame, metrics, ckpt, _ = target_run
    forecaster = Forecaster.load(ckpt)
    for key, value in numpy_test_errors(frame, forecaster).items():
        assert metrics[key] == pytest.approx(value, rel=1e-4), key
    # intervals are calibrated for the targets only: (levels, out_len, 2 targets)
    assert forecaster.intervals.radius.shape[1:] == (OUT_LEN, 2)


def test_the_checkpoint_records_targets_and_covariates(target_run) -> None:
    _, _, ckpt, _ = target_run
    hparams = load_checkpoint(ckpt)["hyper_parameters"]
    assert hparams["series_names"] == ["s0", "s1", "s2", "k"]
    assert hparams["targets"] == ["s2", "s0"]
    assert hparams["covariates"] == ["s1", "k"]
    assert hparams["model"]["targets"] == [2, 0]


def test_forecasts_and_backtests_hold_the_targets_only(target_run) -> None:
    frame, metrics, ckpt, csv = target_run
    forecaster = Forecaster.load(ckpt)
    forecast = forecaster.predict(csv, intervals=[80])
    assert list(forecast.columns) == ["s2", "s2_lo_80", "s2_hi_80", "s0", "s0_lo_80", "s0_hi_80"]
    # The test windows' backtest reproduces test/mse: the same windows, the same targets.
    test_start = frame.index[len(frame) - int(0.2 * len(frame))]
    result = backtest(forecaster, forecaster.read_history(frame), start=test_start)
    assert result.summary.loc["model", "mse"] == pytest.approx(metrics["test/mse"], rel=1e-4)
    naive = result.summary.loc["seasonal_naive", "mse"]
    assert naive == pytest.approx(metrics["test/seasonal_naive_mse"], rel=1e-4)


def test_a_constant_covariate_changes_nothing_whatever_its_value(tmp_path, composer) -> None:
    # Standardised on the training rows, a constant column is zeros whatever the constant:
    # the two runs see the same inputs, so they train the same weights.
    runs = []
    for constant in (5.0, -1234.5):
        root = tmp_path / str(constant)
        root.mkdir()
        covariate_csv(root / "series.csv", constant)
        runs.append(train_targets(composer, root, root / "series.csv"))
    (m1, c1), (m2, c2) = runs
    assert {k: v for k, v in m1.items() if "seconds" not in k and "wait" not in k} == {
        k: v for k, v in m2.items() if "seconds" not in k and "wait" not in k
    }
    w1, w2 = load_checkpoint(c1)["state_dict"], load_checkpoint(c2)["state_dict"]
    assert all(torch.equal(w1[k], w2[k]) for k in w1)


def run_command(script: str, *args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HYDRA_FULL_ERROR": "0"},
    )


def test_a_history_without_a_covariate_is_one_line_and_writes_nothing(target_run, tmp_path):
    frame, _, ckpt, _ = target_run
    history = tmp_path / "history.csv"
    frame.drop(columns=["k"]).to_csv(history)
    out = tmp_path / "forecast.csv"
    result = run_command("forecast.py", ckpt, history, "-o", out)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {history}: missing series column(s) 'k'; the data needs all 4 of 's0', "
        "'s1', 's2', 'k' (matched by name, in any order)"
    ]
    assert not out.exists()


@pytest.mark.slow  # a run or command end to end: seconds each
def test_an_unknown_target_stops_training_in_one_line(tmp_path) -> None:
    csv = tmp_path / "series.csv"
    covariate_csv(csv)
    run = tmp_path / "run"
    result = run_command(
        "train.py",
        *FAST,
        "data=csv",
        f"data.path={csv}",
        "data.targets=[s2,load]",
        f"hydra.run.dir={run}",
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {csv}: data.targets names 'load', not a column of the data; the series "
        "columns are 's0', 's1', 's2', 'k' (--debug shows the traceback)"
    )
    assert not (run / "checkpoints").exists() and not (run / "config.yaml").exists()


# --- future-known covariates -------------------------------------------------------------

KNOWN = ("data.calendar=[hour,dayofweek]", "data.future=[s1]", "trainer.limit_test_batches=1.0")


@pytest.fixture(scope="module")
def future_run(tmp_path_factory, composer):
    root = tmp_path_factory.mktemp("future")
    frame = covariate_csv(root / "series.csv")
    metrics, ckpt = train_targets(composer, root, root / "series.csv", *KNOWN)
    return frame, metrics, ckpt, root


def test_backtest_builds_the_future_features_as_training_did(future_run) -> None:
    frame, metrics, ckpt, _ = future_run
    forecaster = Forecaster.load(ckpt)
    assert (forecaster.calendar, forecaster.future) == (["hour", "dayofweek"], ["s1"])
    test_start = frame.index[len(frame) - int(0.2 * len(frame))]
    result = backtest(forecaster, forecaster.read_history(frame), start=test_start)
    assert result.summary.loc["model", "mse"] == pytest.approx(metrics["test/mse"], rel=1e-4)


def test_future_values_come_from_trailing_rows_or_a_table(future_run) -> None:
    frame, _, ckpt, _ = future_run
    forecaster = Forecaster.load(ckpt)
    history, ahead = frame.iloc[:-OUT_LEN], frame.iloc[-OUT_LEN:]
    trailing = frame.copy()
    trailing.loc[ahead.index, ["s0", "s2", "k"]] = np.nan  # only s1 is known ahead
    from_rows = forecaster.predict(trailing)
    from_table = forecaster.predict(history, future=ahead[["s1"]])
    pd.testing.assert_frame_equal(from_rows, from_table)
    assert list(from_rows.columns) == ["s2", "s0"]

    # By hand: the standardised window, the calendar of the horizon's stamps, s1 ahead.
    scaler = forecaster.scaler
    x = (history.iloc[-IN_LEN:].to_numpy() - scaler.mean) / scaler.std
    stamps = ahead.index
    turns = [stamps.hour / 24, stamps.day_of_week / 7]
    known = [f(2 * np.pi * np.asarray(t)) for t in turns for f in (np.sin, np.cos)]
    known.append((ahead["s1"].to_numpy() - scaler.mean[1]) / scaler.std[1])
    with torch.no_grad():
        pred = (
            forecaster.model(
                torch.as_tensor(x[None], dtype=torch.float32),
                torch.as_tensor(np.stack(known, 1)[None], dtype=torch.float32),
            )[0]
            .double()
            .numpy()
        )
    expected = pred * scaler.std[[2, 0]] + scaler.mean[[2, 0]]
    np.testing.assert_allclose(from_table.to_numpy(), expected, rtol=1e-5, atol=1e-6)


def test_missing_future_rows_are_one_line_and_write_nothing(future_run, tmp_path) -> None:
    frame, _, ckpt, _ = future_run
    history = tmp_path / "history.csv"
    frame.iloc[:-OUT_LEN].to_csv(history)
    ahead = tmp_path / "ahead.csv"
    frame.iloc[-OUT_LEN:-3][["s1"]].to_csv(ahead)
    out = tmp_path / "forecast.csv"
    result = run_command("forecast.py", ckpt, history, "--future", ahead, "-o", out)
    assert result.returncode == 2
    stamps = frame.index[-OUT_LEN:]
    assert result.stderr.strip().splitlines() == [
        f"error: {history}: the model needs the future values of 's1' for the {OUT_LEN} steps "
        f"from {stamps[0]} to {stamps[-1]}, but the data lacks 3 of them (the first at "
        f"{stamps[-3]}); add those rows (in the history after its last target value, or in "
        "--future FILE)"
    ]
    assert not out.exists()


def test_the_int8_evaluation_takes_future_features(tmp_path, composer) -> None:
    # The default callbacks, quantization included, on a run with calendar features and a
    # future covariate: the simulated W8A8 model gets the future input the float one gets.
    covariate_csv(tmp_path / "series.csv")
    overrides = ["debug=fast", "logger=none", "data=csv", f"data.path={tmp_path / 'series.csv'}"]
    overrides += ["data.targets=[s2,s0]", "data.calendar=[hour]", "data.future=[s1]"]
    overrides += ["callbacks.outliers=null"]
    metrics = train(composer(tmp_path / "run", tmp_path / "data", *overrides))
    assert np.isfinite(metrics["quant/w8a8/mse"])
    assert metrics["quant/w8a8/mse"] == pytest.approx(metrics["test/mse"], rel=0.2)


def test_the_simulated_forecast_takes_future_features(future_run) -> None:
    frame, _, ckpt, _ = future_run
    forecaster = Forecaster.load(ckpt)
    history, ahead = frame.iloc[:-OUT_LEN], frame.iloc[-OUT_LEN:]
    quantized = forecaster.quantized(history, "W8A8")
    got = quantized.predict(history, future=ahead[["s1"]])
    expected = forecaster.predict(history, future=ahead[["s1"]])
    assert not np.allclose(got.to_numpy(), expected.to_numpy(), atol=0)
    spread = frame[["s2", "s0"]].std().to_numpy()
    assert (np.abs(got.to_numpy() - expected.to_numpy()) < 0.2 * spread).all()


@pytest.mark.slow  # compiles the integer model (about a minute)
def test_the_int8_forecast_takes_future_features(future_run, tmp_path) -> None:
    frame, _, ckpt, _ = future_run
    shutil.copy2(ckpt, tmp_path / "best.ckpt")  # the integer model is saved beside it
    forecaster = Forecaster.load(tmp_path / "best.ckpt")
    history, ahead = frame.iloc[:-OUT_LEN], frame.iloc[-OUT_LEN:]
    got = forecaster.quantized(history, "int8").predict(history, future=ahead[["s1"]])
    expected = forecaster.predict(history, future=ahead[["s1"]])
    assert not np.allclose(got.to_numpy(), expected.to_numpy(), atol=0)
    spread = frame[["s2", "s0"]].std().to_numpy()
    assert (np.abs(got.to_numpy() - expected.to_numpy()) < 0.2 * spread).all()
