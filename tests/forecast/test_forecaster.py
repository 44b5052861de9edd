"""Forecaster: the round trip from a trained checkpoint, input handling, and every data
error a user can cause."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from stanhop import Forecaster
from stanhop.data import DataError
from stanhop.forecast import ForecastError

# The debug=fast config the checkpoints of conftest.py were trained with.
IN_LEN, OUT_LEN = 48, 12


def write(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path)
    return path


# --- round trip on ETTh1 -------------------------------------------------------------


def test_etth1_forecast_has_the_trained_shape_series_and_the_next_timestamps(etth1_run) -> None:
    forecast = Forecaster.load(etth1_run.ckpt).predict(etth1_run.csv)
    header, *_, last = etth1_run.csv.read_text().splitlines()
    assert list(forecast.columns) == header.split(",")[1:]
    assert forecast.shape == (OUT_LEN, 7)
    # ETTh1 is hourly; its last row is the last timestamp of the file
    end = dt.datetime.fromisoformat(last.split(",")[0])
    expected = [end + dt.timedelta(hours=h) for h in range(1, OUT_LEN + 1)]
    assert list(forecast.index) == [pd.Timestamp(t) for t in expected]
    assert forecast.index.name == "date"
    assert np.isfinite(forecast.to_numpy()).all()


def test_etth1_forecast_undoes_the_training_standardisation(etth1_run) -> None:
    forecaster = Forecaster.load(etth1_run.ckpt)
    values = etth1_run.frame.to_numpy()
    # The scaler is the mean and population std of the first 70 % of rows (the train split).
    train_rows = values[: int(len(values) * 0.7)]
    mean, std = train_rows.mean(axis=0), train_rows.std(axis=0)
    np.testing.assert_allclose(forecaster.scaler.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(forecaster.scaler.std, std, rtol=1e-12)

    # By hand: standardise the last in_len rows, run the bare model, scale back (rows in
    # C order, as the forecaster hands them over: the order of a sum moves the last digit).
    window = np.ascontiguousarray(values[-IN_LEN:])
    x = torch.tensor((window - mean) / std, dtype=torch.float32)[None]
    with torch.no_grad():
        y = forecaster.model(x)[0].double().numpy()
    expected = y * std + mean
    forecast = forecaster.predict(etth1_run.csv)
    np.testing.assert_allclose(forecast.to_numpy(), expected, rtol=1e-6, atol=1e-9)


def test_the_loaded_model_is_the_trained_one(etth1_run) -> None:
    """The weights match the checkpoint's state_dict, read independently."""
    checkpoint = torch.load(etth1_run.ckpt, weights_only=True)
    model = Forecaster.load(etth1_run.ckpt).model
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(tensor, checkpoint["state_dict"][f"model.{name}"])
    assert not model.training


# --- input handling ------------------------------------------------------------------


def test_only_the_last_in_len_rows_matter(synthetic, synthetic_run, reference, tmp_path):
    tail = synthetic_run.frame.iloc[-IN_LEN:]
    pd.testing.assert_frame_equal(synthetic.predict(write(tmp_path / "t.csv", tail)), reference)


def test_a_shorter_horizon_is_the_start_of_the_full_forecast(synthetic, synthetic_run, reference):
    forecast = synthetic.predict(synthetic_run.csv, horizon=5)
    pd.testing.assert_frame_equal(forecast, reference.iloc[:5], check_freq=False)


@pytest.mark.parametrize("horizon", [0, -3, 2.5])
def test_a_horizon_the_model_cannot_give_is_an_error(synthetic, synthetic_run, horizon):
    with pytest.raises(ForecastError, match="horizon must be a whole number of steps >= 1"):
        synthetic.predict(synthetic_run.csv, horizon=horizon)


def test_gaps_filled_by_the_nan_policy(synthetic, synthetic_run, tmp_path) -> None:
    frame = synthetic_run.frame.copy()
    frame.iloc[-3, 1] = np.nan  # inside the window the model reads
    gappy = write(tmp_path / "gappy.csv", frame)
    filled = frame.ffill()
    expected = synthetic.predict(write(tmp_path / "filled.csv", filled))
    pd.testing.assert_frame_equal(synthetic.predict(gappy, nan_policy="ffill"), expected)


def test_a_gap_before_the_window_does_not_stop_the_forecast(
    synthetic, synthetic_run, reference, tmp_path
) -> None:
    frame = synthetic_run.frame.drop(synthetic_run.frame.index[5])
    pd.testing.assert_frame_equal(synthetic.predict(write(tmp_path / "g.csv", frame)), reference)


# --- errors: each one line, naming the problem ---------------------------------------


def error_of(forecaster: Forecaster, data, **kwargs) -> str:
    with pytest.raises(DataError) as info:
        forecaster.predict(data, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_missing_series_are_named(synthetic, synthetic_run, tmp_path) -> None:
    path = write(tmp_path / "m.csv", synthetic_run.frame.drop(columns=["s0", "s2"]))
    message = error_of(synthetic, path)
    assert "missing series column(s) 's0', 's2'" in message and str(path) in message


def test_fewer_rows_than_in_len_says_how_many_are_needed(synthetic, synthetic_run, tmp_path):
    path = write(tmp_path / "short.csv", synthetic_run.frame.iloc[-(IN_LEN - 1) :])
    message = error_of(synthetic, path)
    assert f"{IN_LEN - 1} rows" in message and f"at least {IN_LEN} rows" in message


def test_nans_are_reported_with_column_and_count(synthetic, synthetic_run, tmp_path) -> None:
    frame = synthetic_run.frame.copy()
    frame.iloc[[-1, -2], 2] = np.nan
    message = error_of(synthetic, write(tmp_path / "nan.csv", frame))
    assert "column 's2' (2)" in message


def test_non_numeric_cells_are_reported_with_column_and_line(synthetic, synthetic_run, tmp_path):
    frame = synthetic_run.frame.astype(object)
    frame.iloc[10, 1] = "n/a?"
    message = error_of(synthetic, write(tmp_path / "text.csv", frame))
    assert "'n/a?'" in message and "column 's1'" in message and "line 12" in message


def test_unparsable_timestamps_are_reported_with_line(synthetic, synthetic_run, tmp_path):
    lines = synthetic_run.csv.read_text().splitlines()
    lines[3] = "yesterday" + lines[3][lines[3].index(",") :]
    path = tmp_path / "ts.csv"
    path.write_text("\n".join(lines) + "\n")
    message = error_of(synthetic, path)
    assert "unparsable timestamp 'yesterday'" in message and "line 4" in message


def test_duplicate_timestamps_are_reported(synthetic, synthetic_run, tmp_path) -> None:
    frame = synthetic_run.frame
    doubled = pd.concat([frame.iloc[:-1], frame.iloc[-2:-1], frame.iloc[-1:]])
    message = error_of(synthetic, write(tmp_path / "dup.csv", doubled))
    assert "duplicate timestamp" in message


def test_irregular_timestamps_in_the_window_are_an_error_that_says_how_to_fix(
    synthetic, synthetic_run, tmp_path
) -> None:
    frame = synthetic_run.frame.drop(synthetic_run.frame.index[-10])
    message = error_of(synthetic, write(tmp_path / "irr.csv", frame))
    assert "irregular" in message and "2 hours" in message and "resample" in message


def test_dataframe_errors_name_the_row(synthetic, synthetic_run) -> None:
    raw = pd.read_csv(synthetic_run.csv).astype({"s0": object})
    raw.loc[7, "s0"] = "oops"
    message = error_of(synthetic, raw)
    assert "DataFrame" in message and "row 7" in message
