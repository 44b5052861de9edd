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
from stanhop.data import DataError, DataWarning, read_wide_csv, to_long
from stanhop.forecast import ForecastError
from stanhop.forecast.intervals import to_nixtla

# The debug=fast config the checkpoints of conftest.py were trained with.
IN_LEN, OUT_LEN = 48, 12


@pytest.fixture(scope="module")
def synthetic(synthetic_run) -> Forecaster:
    return Forecaster.load(synthetic_run.ckpt)


@pytest.fixture(scope="module")
def reference(synthetic: Forecaster, synthetic_run) -> pd.DataFrame:
    """The forecast of the unchanged synthetic CSV, to compare variants against."""
    return synthetic.predict(synthetic_run.csv)


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


def test_columns_in_another_order_give_the_same_forecast(
    synthetic, synthetic_run, reference, tmp_path
):
    shuffled = synthetic_run.frame[list(reversed(synthetic_run.frame.columns))]
    forecast = synthetic.predict(write(tmp_path / "reordered.csv", shuffled))
    assert list(forecast.columns) == list(synthetic_run.frame.columns)  # training order
    pd.testing.assert_frame_equal(forecast, reference)


def test_extra_columns_are_ignored_with_a_one_line_warning(
    synthetic, synthetic_run, reference, tmp_path
) -> None:
    frame = synthetic_run.frame.assign(note="text", extra=1.0)
    with pytest.warns(DataWarning, match=r"ignoring 2 column\(s\).*'note', 'extra'") as caught:
        forecast = synthetic.predict(write(tmp_path / "extra.csv", frame))
    assert all("\n" not in str(w.message) for w in caught)
    pd.testing.assert_frame_equal(forecast, reference)


def test_long_format_gives_the_same_forecast(synthetic, synthetic_run, reference, tmp_path):
    long = to_long(synthetic_run.frame).sample(frac=1.0, random_state=0)  # any row order
    path = tmp_path / "long.csv"
    long.to_csv(path, index=False)
    # long in, long out: the wide reference as Nixtla's long table
    expected = to_nixtla(reference, list(reference.columns), type(synthetic.model).__name__)
    pd.testing.assert_frame_equal(synthetic.predict(path, format="long"), expected)
    pd.testing.assert_frame_equal(synthetic.predict(long), expected)  # told apart by columns


def test_dataframes_are_accepted_as_read_or_with_a_datetime_index(
    synthetic, synthetic_run, reference
) -> None:
    raw = pd.read_csv(synthetic_run.csv)
    pd.testing.assert_frame_equal(synthetic.predict(raw), reference)
    pd.testing.assert_frame_equal(synthetic.predict(synthetic_run.frame), reference)


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


def test_weights_only_loading_is_what_reads_the_checkpoint(synthetic_run) -> None:
    checkpoint = torch.load(synthetic_run.ckpt, weights_only=True)
    hparams = checkpoint["hyper_parameters"]
    assert hparams["series_names"] == ["s0", "s1", "s2"]
    assert hparams["freq"] == "h"
    assert (
        read_wide_csv(synthetic_run.csv).index[int(24 * 30 * 0.7) - 1].isoformat()
        == (hparams["last_train_timestamp"])
    )


# --- precision -----------------------------------------------------------------------


def test_bf16_forecast_is_close_to_fp32_and_auto_follows_the_hardware(
    synthetic_run, reference, monkeypatch
) -> None:
    bf16 = Forecaster.load(synthetic_run.ckpt, precision="bf16").predict(synthetic_run.csv)
    scale = reference.abs().to_numpy().max()
    difference = (bf16 - reference).abs().to_numpy().max()
    # bf16 keeps 8 significant bits: differences of a few parts in a thousand of the data's
    # scale, never zero.
    assert 0 < difference < 0.02 * scale
    for native, expected in ((True, bf16), (False, reference)):
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda n=native: n)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda n=native: n)
        auto = Forecaster.load(synthetic_run.ckpt, precision="auto")
        pd.testing.assert_frame_equal(auto.predict(synthetic_run.csv), expected)


def test_unknown_precision_is_a_forecast_error(synthetic_run) -> None:
    with pytest.raises(ForecastError, match="precision 'fp8' is not one of 32, bf16, auto"):
        Forecaster.load(synthetic_run.ckpt, precision="fp8")
