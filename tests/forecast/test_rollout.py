"""Horizons beyond the trained out_len: rolled forward on the model's own forecasts, with
one warning line; refused for a model with covariates it does not forecast."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from stanhop import Forecaster
from stanhop.data import DataWarning, Scaler
from stanhop.forecast.forecaster import ForecastError
from stanhop.forecast.rollout import check_horizon, roll
from stanhop.measures.conformal import Calibration
from stanhop.model import build_model

IN_LEN, OUT_LEN = 8, 4


def last_value_forecaster(targets: list[int] | None = None) -> Forecaster:
    """A DLinear whose forecast is its last input, on a scaler that is not the identity."""
    spec = {"name": "dlinear", "n_series": 2, "in_len": IN_LEN, "out_len": OUT_LEN}
    model = build_model({**spec, "kernel_size": 1, "targets": targets})
    with torch.no_grad():
        for part in (model.seasonal, model.trend):
            part.weight.zero_()
            part.bias.zero_()
        model.trend.weight[:, :, -1] = 1.0  # kernel 1: the trend is the input itself
    scaler = Scaler(mean=np.array([10.0, -3.0]), std=np.array([2.0, 0.5]))
    names = ["a", "b"]
    chosen = None if targets is None else [names[t] for t in targets]
    calibration = Calibration((80.0,), np.full((1, OUT_LEN, len(chosen or names)), 0.5), 100)
    return Forecaster(
        model, scaler, names, IN_LEN, OUT_LEN, "h", targets=chosen, intervals=calibration
    )


def history() -> pd.DataFrame:
    index = pd.date_range("2024-01-01", periods=20, freq="h")
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.normal(size=(20, 2)), index=index, columns=["a", "b"])


def test_a_last_value_model_rolled_forward_repeats_the_last_value() -> None:
    frame = history()
    forecaster = last_value_forecaster()
    with pytest.warns(DataWarning) as caught:
        forecast = forecaster.predict(frame, horizon=3 * OUT_LEN + 2, intervals=[80])
    assert [str(w.message) for w in caught] == [
        f"DataFrame: steps {OUT_LEN + 1} to {3 * OUT_LEN + 2} lie beyond the model's trained "
        f"horizon (out_len={OUT_LEN}) and are recursive: forecast from its own forecasts, "
        f"their errors compound; prediction intervals cover the first {OUT_LEN} steps only"
    ]
    assert len(forecast) == 3 * OUT_LEN + 2
    assert forecast.index[0] == frame.index[-1] + pd.Timedelta(hours=1)
    assert (forecast.index.to_series().diff().iloc[1:] == pd.Timedelta(hours=1)).all()
    np.testing.assert_allclose(forecast["a"], frame["a"].iloc[-1], rtol=1e-6)
    np.testing.assert_allclose(forecast["b"], frame["b"].iloc[-1], rtol=1e-6)
    assert forecast["a_lo_80"].iloc[:OUT_LEN].notna().all()
    assert forecast["a_lo_80"].iloc[OUT_LEN:].isna().all()


def test_a_trained_model_rolls_forward_on_its_own_forecast(synthetic_run) -> None:
    forecaster = Forecaster.load(synthetic_run.ckpt)
    frame = synthetic_run.frame
    out_len = forecaster.out_len
    with pytest.warns(DataWarning, match="are recursive"):
        long = forecaster.predict(frame, horizon=2 * out_len)
    first = forecaster.predict(frame)
    second = forecaster.predict(pd.concat([frame, first]))
    expected = pd.concat([first, second])
    np.testing.assert_allclose(long.to_numpy(), expected.to_numpy(), rtol=1e-6, atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        forecaster.predict(frame, horizon=out_len)  # within out_len: no warning


def test_a_model_with_covariates_cannot_roll_forward() -> None:
    forecaster = last_value_forecaster(targets=[1])
    assert list(forecaster.predict(history()).columns) == ["b"]
    with pytest.raises(ForecastError) as err:
        forecaster.predict(history(), horizon=OUT_LEN + 1)
    assert str(err.value) == (
        f"horizon {OUT_LEN + 1} is longer than the model's trained horizon "
        f"(out_len={OUT_LEN}), and the model cannot roll forward on its own forecasts: it "
        f"does not forecast its covariates a; ask for at most {OUT_LEN} steps, or train a "
        f"model with data.out_len={OUT_LEN + 1}"
    )


def test_the_command_forecasts_beyond_out_len_with_one_warning(synthetic_run, tmp_path) -> None:
    root = Path(__file__).resolve().parents[2]
    history = tmp_path / "history.csv"
    history.write_bytes(synthetic_run.csv.read_bytes())
    out = tmp_path / "out.csv"
    result = subprocess.run(
        [
            sys.executable,
            str(root / "forecast.py"),
            str(synthetic_run.ckpt),
            str(history),
            "--horizon",
            "30",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    warning, wrote = result.stderr.strip().splitlines()
    assert warning.startswith(f"warning: {history}: steps 13 to 30 lie beyond the model's")
    assert wrote.startswith(f"wrote {out}: 30 steps of 3 series")
    assert len(pd.read_csv(out)) == 30


def test_each_round_reads_the_window_shifted_by_the_rounds_before() -> None:
    """roll() on a step that forecasts one more than the window's last row, tagged by
    the round: every round reads the last in_len rows of the window and the rounds
    before, in the targets' input columns."""
    window = np.arange(12.0).reshape(6, 2)  # (in_len, c): 2 series
    stamps = pd.date_range("2024-01-01", periods=3 * 2, freq="h")
    seen = []

    def step(current: np.ndarray, span: pd.DatetimeIndex) -> np.ndarray:
        seen.append((current.copy(), span))
        return np.repeat(current[-1:, ::-1] + 1, 2, axis=0)  # (out_len=2, k=2), reversed

    values = roll(step, window, stamps, 2, [1, 0])
    assert values.shape == (6, 2)
    assert [len(current) for current, _ in seen] == [6, 6, 6]
    assert [span[0] for _, span in seen] == list(stamps[::2])
    # the forecast's columns go back to the inputs [1, 0], so the reversal cancels out
    np.testing.assert_array_equal(seen[1][0][-2:], [[11.0, 12.0], [11.0, 12.0]])
    np.testing.assert_array_equal(values[::2], [[12.0, 11.0], [13.0, 12.0], [14.0, 13.0]])


@pytest.mark.parametrize("horizon", [0, -3, 2.5, True])
def test_check_horizon_refuses_what_is_not_a_whole_number_of_steps(horizon) -> None:
    with pytest.raises(ForecastError, match="horizon must be a whole number of steps >= 1"):
        check_horizon(horizon, 4, [])


def test_check_horizon_defaults_to_out_len_and_keeps_covariate_models_within_it() -> None:
    assert check_horizon(None, 4, ["c"]) == 4
    assert check_horizon(np.int64(9), 4, []) == 9
    with pytest.raises(ForecastError, match="does not forecast its covariates c"):
        check_horizon(5, 4, ["c"])
