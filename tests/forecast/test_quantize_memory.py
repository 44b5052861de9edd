"""``--quantize`` and ``--memory``: the simulated-integer model and Plug-and-Play memory
from the forecast command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from stanhop import Forecaster
from stanhop.cli.forecast import main
from stanhop.measures import SimulatedQuantModel


def read_output(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, index_col=0, parse_dates=True)


def test_quantized_forecast_equals_a_hand_calibrated_simulation(synthetic_run, tmp_path):
    out = tmp_path / "q.csv"
    assert (
        main(
            [str(synthetic_run.ckpt), str(synthetic_run.csv), "-o", str(out), "--quantize", "w8a8"]
        )
        == 0
    )
    got = read_output(out)

    # Independently: calibrate the simulation on the last 512 windows, forecast the last.
    forecaster = Forecaster.load(synthetic_run.ckpt)
    values = forecaster.scaler.transform(synthetic_run.frame.to_numpy(np.float64))
    x = torch.as_tensor(values, dtype=torch.float32)
    n = forecaster.in_len
    windows = torch.stack([x[i : i + n] for i in range(len(x) - n + 1)])[-512:]
    quantized = SimulatedQuantModel(forecaster.model, "W8A8")
    quantized.calibrate(windows.split(32))
    with torch.no_grad():
        y = quantized(x[-n:][None])[0].double().numpy()
    expected = forecaster.scaler.inverse_transform(y)
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-5, atol=1e-6)

    float_forecast = forecaster.predict(synthetic_run.csv)
    assert not np.allclose(got.to_numpy(), float_forecast.to_numpy(), atol=0)
    # 8-bit grids: close to the float forecast relative to the spread of the data.
    spread = synthetic_run.frame.std().to_numpy()
    assert (np.abs(got.to_numpy() - float_forecast.to_numpy()) < 0.2 * spread).all()


def test_bad_bit_widths_are_a_one_line_error(synthetic_run, tmp_path, capsys):
    status = main(
        [
            str(synthetic_run.ckpt),
            str(synthetic_run.csv),
            "-o",
            str(tmp_path / "o.csv"),
            "--quantize",
            "int4",
        ]
    )
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --quantize:") and "W8A8" in err and "\n" not in err
    assert "or int8 for the real integer model" in err


def test_memory_on_a_model_trained_without_memory_keeps_the_forecast(
    synthetic_run, tmp_path, capsys
):
    out = tmp_path / "m.csv"
    assert (
        main(
            [
                str(synthetic_run.ckpt),
                str(synthetic_run.csv),
                "-o",
                str(out),
                "--memory",
                str(synthetic_run.csv),
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "warning:" in err and "trained without memory" in err
    expected = Forecaster.load(synthetic_run.ckpt).predict(synthetic_run.csv)
    pd.testing.assert_frame_equal(read_output(out), expected, check_freq=False)


def test_memory_missing_a_series_is_a_one_line_error(synthetic_run, tmp_path, capsys):
    memory = tmp_path / "memory.csv"
    synthetic_run.frame.iloc[:, :1].to_csv(memory)
    status = main(
        [
            str(synthetic_run.ckpt),
            str(synthetic_run.csv),
            "-o",
            str(tmp_path / "o.csv"),
            "--memory",
            str(memory),
        ]
    )
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "lacks the model's series" in err and "\n" not in err
