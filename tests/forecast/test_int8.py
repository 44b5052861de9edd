"""``--quantize int8``: the integer model of a trained checkpoint forecasts close to the
float one, calibrates on the training split only, is saved beside the checkpoint and
loaded from there with the same forecasts, in the Python API and both commands."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from stanhop import Forecaster
from stanhop.cli.evaluate import main as evaluate
from stanhop.cli.forecast import main as forecast
from stanhop.forecast.backtest import backtest
from stanhop.forecast.forecaster import ForecastError
from stanhop.measures.int8 import Int8Model

# Each module compiles one integer model (about a minute).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def int8_run(synthetic_run, tmp_path_factory):
    """(float forecaster, integer forecaster) of a copy of the tiny run's checkpoint; the
    integer one calibrated on a history whose rows after the training split are NaN, so
    that reading any of them would spoil its ranges."""
    root = tmp_path_factory.mktemp("int8")
    ckpt = root / "best.ckpt"
    shutil.copy2(synthetic_run.ckpt, ckpt)
    floating = Forecaster.load(ckpt)
    history = synthetic_run.frame.astype(float)
    history.loc[history.index > pd.Timestamp(floating.last_train_timestamp)] = np.nan
    return floating, floating.quantized(history, "int8")


def test_int8_forecasts_are_close_to_the_float_ones_but_not_identical(
    int8_run, synthetic_run
) -> None:
    floating, integer = int8_run
    assert isinstance(integer.model, Int8Model)
    frame = synthetic_run.frame
    start = frame.index[len(frame) - int(0.2 * len(frame))]  # the test split
    mse = {
        name: backtest(f, frame, start=start).summary.loc["model", "mse"]
        for name, f in (("float", floating), ("int8", integer))
    }
    assert mse["int8"] == pytest.approx(mse["float"], rel=0.05)
    got, expected = integer.predict(frame), floating.predict(frame)
    assert not np.allclose(got.to_numpy(), expected.to_numpy(), atol=0)
    spread = frame.std().to_numpy()
    assert (np.abs(got.to_numpy() - expected.to_numpy()) < 0.1 * spread).all()


def test_calibration_reads_the_training_split_only(int8_run, synthetic_run, tmp_path) -> None:
    # The fixture calibrated on a history NaN after the training split and forecasts
    # close to the float model (above); here, what it reads and what it refuses.
    floating, _ = int8_run
    rows = floating.training_rows(synthetic_run.frame)
    assert rows.index[-1] == pd.Timestamp(floating.last_train_timestamp)
    assert len(rows) == int(0.7 * len(synthetic_run.frame))  # the 70/10/20 split
    later = synthetic_run.frame.loc[rows.index[-1] :].iloc[1:]
    shutil.copy2(floating.checkpoint, tmp_path / "best.ckpt")  # no saved model beside it
    with pytest.raises(ForecastError) as err:
        Forecaster.load(tmp_path / "best.ckpt").quantized(later, "int8")
    assert str(err.value) == (
        f"calibration reads the training split only (up to {rows.index[-1]}), and the "
        f"history holds 0 rows of it, fewer than one window (in_len + out_len = "
        f"{floating.in_len + floating.out_len}); give the history the model was trained on"
    )
    assert not (tmp_path / "best.int8.pt2").exists()


def test_the_saved_model_loads_without_calibrating_and_forecasts_the_same(
    int8_run, synthetic_run
) -> None:
    floating, integer = int8_run
    saved = floating.checkpoint.with_name("best.int8.pt2")
    assert integer.model.path == saved and saved.is_file()
    loaded = Forecaster.load(floating.checkpoint).quantized(None, "int8")  # no history
    assert loaded.model.path == saved
    pd.testing.assert_frame_equal(
        loaded.predict(synthetic_run.frame), integer.predict(synthetic_run.frame)
    )


def test_the_commands_use_the_saved_model(int8_run, synthetic_run, tmp_path, capsys) -> None:
    _, integer = int8_run
    run = tmp_path / "run"
    shutil.copytree(integer.checkpoint.parent, run)  # copy2 keeps the saved model newer
    out = tmp_path / "forecast.csv"
    argv = [str(run / "best.ckpt"), str(synthetic_run.csv), "-o", str(out), "--quantize", "int8"]
    assert forecast(argv) == 0
    assert f"int8 model loaded from {run / 'best.int8.pt2'}" in capsys.readouterr().err
    got = pd.read_csv(out, index_col=0, parse_dates=True)
    np.testing.assert_allclose(got.to_numpy(), integer.predict(synthetic_run.frame).to_numpy())

    backtests = tmp_path / "backtest.csv"
    argv = [str(run / "best.ckpt"), str(synthetic_run.csv), "--quantize", "int8"]
    assert evaluate([*argv, "--out", str(backtests)]) == 0
    assert f"int8 model loaded from {run / 'best.int8.pt2'}" in capsys.readouterr().out
    expected = backtest(integer, synthetic_run.frame).windows["model_mse"]
    np.testing.assert_allclose(pd.read_csv(backtests)["model_mse"], expected, rtol=1e-6)


def test_int8_with_a_memory_is_one_line(synthetic_run, tmp_path, capsys) -> None:
    argv = [str(synthetic_run.ckpt), str(synthetic_run.csv), "-o", str(tmp_path / "f.csv")]
    argv += ["--quantize", "int8", "--memory", str(synthetic_run.csv)]
    assert forecast(argv) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: --quantize int8 does not take --memory: the memory would be compiled into "
        "the integer model saved beside the checkpoint; use --quantize w8a8 with --memory"
    ]
