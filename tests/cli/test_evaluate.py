"""The evaluate command against a hand computation on a tiny file, and its one-line errors."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from stanhop.cli.evaluate import main
from stanhop.cli.forecast import main as forecast_main
from stanhop.data import DataError
from stanhop.data.freq import season_length
from stanhop.files.checkpoint import INTERVALS_KEY, make_plain
from stanhop.forecast import Forecaster, ForecastError
from stanhop.measures.baselines import seasonal_naive
from stanhop.measures.conformal import Calibration
from stanhop.training.lit import LitForecaster

ROOT = Path(__file__).resolve().parents[2]
IN_LEN, OUT_LEN = 3, 2
MEAN, STD = np.array([10.0, -5.0]), np.array([2.0, 4.0])
# The model's forecast of step h is sum_j W[h, j] x[j] + B[h] for each series, standardised.
W = np.array([[0.5, 0.25, 0.25], [0.0, -1.0, 2.0]])
B = np.array([0.1, -0.2])
# Interval half-widths, standardised, per (step, series), for the 80 % level.
RADIUS_80 = np.array([[0.5, 1.0], [1.5, 0.25]])


def linear_checkpoint(path: Path, intervals: bool = True) -> Path:
    """A DLinear checkpoint whose forecast is the affine map W x + B: with a trend kernel
    of 1 the trend is the input and the seasonal part zero, so the seasonal map adds only
    its bias."""
    spec = {"name": "dlinear", "n_series": 2, "in_len": IN_LEN, "out_len": OUT_LEN}
    module = LitForecaster(
        model={**spec, "kernel_size": 1},
        scaler={"mean": MEAN.tolist(), "std": STD.tolist()},
        series_names=["a", "b"],
        freq="h",
    )
    with torch.no_grad():
        module.model.trend.weight.copy_(torch.tensor(W)[None])
        module.model.trend.bias.copy_(torch.tensor(B)[None])
        module.model.seasonal.bias.zero_()
    checkpoint = {"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams)}
    if intervals:
        checkpoint[INTERVALS_KEY] = Calibration((80.0,), RADIUS_80[None], 10).to_dict()
    make_plain(checkpoint)
    torch.save(checkpoint, path)
    return path


def tiny_csv(path: Path, rows: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"a": rng.integers(0, 20, rows).astype(float), "b": rng.integers(-15, 5, rows) * 1.0},
        index=pd.date_range("2024-03-01", periods=rows, freq="h", name="date"),
    )
    frame.to_csv(path)
    return frame


def test_per_window_errors_match_a_hand_computation(tmp_path, capsys) -> None:
    data = tiny_csv(tmp_path / "tiny.csv")
    ckpt = linear_checkpoint(tmp_path / "m.ckpt")
    out = tmp_path / "bt.csv"
    start, end = data.index[4], data.index[10]
    argv = [str(ckpt), str(tmp_path / "tiny.csv"), "--start", str(start), "--end", str(end)]
    assert main([*argv, "--stride", "2", "--season", "2", "--out", str(out)]) == 0
    windows = pd.read_csv(out, index_col="origin", parse_dates=["origin", "end"])

    # By hand: forecasts start at rows 4, 6, 8 (row 10 would need row 11, after --end).
    values = data.to_numpy()
    z = (values - MEAN) / STD
    assert list(windows.index) == list(data.index[[4, 6, 8]])
    expected = {name: [] for name in ("model", "seasonal_naive", "persistence")}
    covered = []
    for o in (4, 6, 8):
        x, y = z[o - IN_LEN : o], z[o : o + OUT_LEN]  # (3, 2), (2, 2)
        model = np.array([[W[h] @ x[:, c] + B[h] for c in range(2)] for h in range(OUT_LEN)])
        naive = np.array([x[1], x[2]])  # season 2: the last two input steps, repeated
        last = np.array([x[2], x[2]])
        for name, forecast in (("model", model), ("seasonal_naive", naive), ("persistence", last)):
            err = forecast - y
            expected[name].append(
                [
                    (err**2).mean(),
                    np.abs(err).mean(),
                    ((err * STD) ** 2).mean(),
                    np.abs(err * STD).mean(),
                ]
            )
        covered.append((np.abs(model - y) <= RADIUS_80).mean())
    for name, rows in expected.items():
        got = windows[[f"{name}_{m}" for m in ("mse", "mae", "mse_orig", "mae_orig")]]
        np.testing.assert_allclose(got.to_numpy(), rows, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(windows["coverage_80"], covered)
    assert list(windows["end"]) == list(data.index[[5, 7, 9]])

    printed = capsys.readouterr().out
    assert "3 windows (stride 2)" in printed
    model_mse = np.mean([row[0] for row in expected["model"]])
    assert re.search(rf"^model\s+{model_mse:.4f}\s", printed, re.M)
    naive_mae = np.mean([row[1] for row in expected["seasonal_naive"]])
    assert re.search(rf"^seasonal naive \(2 steps\)\s+\S+\s+{naive_mae:.4f}\s", printed, re.M)
    assert f"80% -> {np.mean(covered):.3f} (mean width {2 * RADIUS_80.mean():.3g})" in printed


def test_recalibrated_intervals_match_a_hand_computation(tmp_path, capsys) -> None:
    """With --recalibrate 4, the 80 % half-width of each window and (step, series) is the
    conformal quantile of the model's errors on the 4 latest windows whose forecast ends
    before the window's first step: k = ceil(5 · 0.8) = 4, their largest."""
    data = tiny_csv(tmp_path / "tiny.csv", rows=20)
    ckpt = linear_checkpoint(tmp_path / "m.ckpt")
    out = tmp_path / "bt.csv"
    # The first window with 4 full windows before it: origins 3 … 6 end by row 7, so 8.
    argv = [str(ckpt), str(tmp_path / "tiny.csv"), "--recalibrate", "4", "--out", str(out)]
    assert main([*argv, "--start", str(data.index[8])]) == 0
    windows = pd.read_csv(out, index_col="origin", parse_dates=["origin"])

    z = (data.to_numpy() - MEAN) / STD

    def error(o: int) -> np.ndarray:  # |forecast - actual| of the window forecasting row o on
        x, y = z[o - IN_LEN : o], z[o : o + OUT_LEN]
        return np.abs([[W[h] @ x[:, c] + B[h] - y[h, c] for c in range(2)] for h in range(2)])

    origins = list(range(8, 20 - OUT_LEN + 1))
    assert list(windows.index) == list(data.index[origins])
    covered, widths = [], []
    for o in origins:
        radius = np.max([error(p) for p in range(o - OUT_LEN - 3, o - OUT_LEN + 1)], axis=0)
        covered.append((error(o) <= radius).mean())
        widths.append(2 * radius.mean())
    np.testing.assert_allclose(windows["coverage_80"], covered)
    printed = capsys.readouterr().out
    assert (
        f"interval coverage (recalibrated on the 4 windows before each): 80% -> "
        f"{np.mean(covered):.3f} (mean width {np.mean(widths):.3g})"
    ) in printed


def test_recalibrating_from_too_early_a_start_names_the_first_that_works(tmp_path, capsys) -> None:
    data = tiny_csv(tmp_path / "tiny.csv", rows=20)
    ckpt = linear_checkpoint(tmp_path / "m.ckpt")
    argv = [str(ckpt), str(tmp_path / "tiny.csv"), "--recalibrate", "4"]
    assert main([*argv, "--start", str(data.index[7]), "--out", str(tmp_path / "o.csv")]) == 2
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'tiny.csv'}: recalibrating on the 4 windows before each one "
        f"scored needs the first scored forecast at {data.index[8]} or later; pass --start "
        f"'{data.index[8]}', or recalibrate on fewer windows\n"
    )


def test_a_forecast_recalibrates_on_the_latest_windows_of_its_history(tmp_path) -> None:
    """forecast.py --recalibrate 4: the 80 % half-width of each (step, series) is the
    largest of the model's errors on the 4 latest windows of the input whose forecast
    lies inside it (first forecast rows 15 … 18 of 20), times the series' std."""
    data = tiny_csv(tmp_path / "tiny.csv", rows=20)
    ckpt = linear_checkpoint(tmp_path / "m.ckpt")
    out = tmp_path / "f.csv"
    argv = [str(ckpt), str(tmp_path / "tiny.csv"), "-o", str(out), "--intervals", "80"]
    assert forecast_main([*argv, "--recalibrate", "4"]) == 0
    frame = pd.read_csv(out, index_col=0)
    z = (data.to_numpy() - MEAN) / STD

    def error(o: int) -> np.ndarray:
        x, y = z[o - IN_LEN : o], z[o : o + OUT_LEN]
        return np.abs([[W[h] @ x[:, c] + B[h] - y[h, c] for c in range(2)] for h in range(2)])

    radius = np.max([error(o) for o in range(15, 19)], axis=0)  # (out_len, series)
    for c, name in enumerate(["a", "b"]):
        np.testing.assert_allclose(frame[f"{name}_hi_80"] - frame[name], radius[:, c] * STD[c])
    api = Forecaster.load(ckpt).predict(tmp_path / "tiny.csv", intervals=[80], recalibrate=4)
    np.testing.assert_allclose(api.to_numpy(), frame.to_numpy())
    with pytest.raises(DataError, match="recalibrating on 17 windows needs in_len \\+ out_len"):
        Forecaster.load(ckpt).predict(data, intervals=[80], recalibrate=17)
    # 3 windows bound no 80 % interval (k = ceil(4 · 0.8) = 4 > 3)
    with pytest.raises(ForecastError, match="needs at least 4 calibration windows, there were 3; "
                       "ask for a lower level, or calibrate on more windows"):  # fmt: skip
        Forecaster.load(ckpt).predict(data, intervals=[80], recalibrate=3)
    # the stored calibration (RADIUS_80) without the option
    assert forecast_main([*argv, "--force"]) == 0
    np.testing.assert_allclose(
        pd.read_csv(out)["a_hi_80"] - pd.read_csv(out)["a"], RADIUS_80[:, 0] * STD[0]
    )


def test_without_range_every_window_is_scored(tmp_path, capsys, monkeypatch) -> None:
    (tmp_path / "data").mkdir()
    tiny_csv(tmp_path / "data" / "tiny.csv")
    ckpt = linear_checkpoint(tmp_path / "m.ckpt", intervals=False)
    monkeypatch.chdir(tmp_path)
    assert main([str(ckpt), str(tmp_path / "data" / "tiny.csv")]) == 0
    # Written where the command runs; the data's folder is left as it was.
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["tiny.csv"]
    windows = pd.read_csv(tmp_path / "tiny.backtest.csv")
    assert len(windows) == 12 - IN_LEN - OUT_LEN + 1
    printed = capsys.readouterr().out
    assert "no prediction intervals" in printed
    assert "no seasonal naive" in printed  # hourly: a 24-step season, longer than in_len 3


def test_seasonal_naive_repeats_the_last_season() -> None:
    x = torch.arange(6.0).reshape(1, 6, 1)  # steps 0 … 5
    assert seasonal_naive(x, 5, 2).flatten().tolist() == [4.0, 5.0, 4.0, 5.0, 4.0]
    assert [season_length(f) for f in ("h", "15min", "D", "W-SUN", "MS")] == [24, 96, 7, 52, 12]


def exit_status(argv: list[str]) -> int | str | None:
    try:
        return main(argv)
    except SystemExit as exit:
        return exit.code


@pytest.mark.parametrize(
    ("edit", "args", "message"),
    [
        (lambda f: f.drop(columns="b"), [], "'b'"),
        (lambda f: f, ["--start", "2024-03-01 11:00"], "no full window to evaluate between"),
        (lambda f: f, ["--end", "2024-03-01 03:00"], "no full window to evaluate between"),
        (lambda f: f, ["--start", "2024-03-02", "--end", "2024-03-01"], "is after --end"),
        (lambda f: f, ["--start", "soon"], "--start 'soon' is not a date"),
        (lambda f: f, ["--stride", "0"], "--stride must be at least 1"),
        (lambda f: f.drop(f.index[5]), [], "the timestamps are irregular"),
        (
            lambda f: f.iloc[: IN_LEN + OUT_LEN - 1],
            [],
            "tiny.csv: 4 rows, but a backtest window needs 5: in_len=3 rows read and the "
            "out_len=2 after them scored; give at least 5 rows (1 more)",
        ),
    ],
)
def test_bad_inputs_are_one_line_errors(tmp_path, capsys, monkeypatch, edit, args, message):
    monkeypatch.chdir(tmp_path)
    data = edit(tiny_csv(tmp_path / "tiny.csv"))
    data.to_csv(tmp_path / "tiny.csv")
    before = (tmp_path / "tiny.csv").read_bytes()
    ckpt = linear_checkpoint(tmp_path / "m.ckpt")
    assert exit_status([str(ckpt), str(tmp_path / "tiny.csv"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert (tmp_path / "tiny.csv").read_bytes() == before
    assert not (tmp_path / "tiny.backtest.csv").exists()


def test_semicolons_decimal_commas_and_a_run_folder_read_like_the_plain_file(
    tmp_path, capsys
) -> None:
    data = tiny_csv(tmp_path / "tiny.csv")
    data.to_csv(tmp_path / "tiny_eu.csv", sep=";", decimal=",")
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    linear_checkpoint(run / "checkpoints" / "best.ckpt")
    plain, eu = tmp_path / "plain.csv", tmp_path / "eu.csv"
    assert main([str(run), str(tmp_path / "tiny.csv"), "--out", str(plain)]) == 0
    argv = [str(run), str(tmp_path / "tiny_eu.csv"), "--out", str(eu)]
    assert main([*argv, "--sep", ";", "--decimal", ","]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(eu), pd.read_csv(plain))


def test_strict_turns_a_data_warning_into_a_one_line_error(tmp_path, capsys) -> None:
    data = tiny_csv(tmp_path / "tiny.csv")
    data.assign(extra=1.0).to_csv(tmp_path / "tiny.csv")  # a column the model ignores
    ckpt = linear_checkpoint(tmp_path / "m.ckpt")
    out = tmp_path / "bt.csv"
    assert main([str(ckpt), str(tmp_path / "tiny.csv"), "--out", str(out)]) == 0
    assert "warning: " in capsys.readouterr().err and out.exists()
    out.unlink()
    assert exit_status([str(ckpt), str(tmp_path / "tiny.csv"), "--out", str(out), "--strict"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "extra" in err, err
    assert not out.exists()


def test_an_existing_output_is_kept_without_force(tmp_path, capsys) -> None:
    tiny_csv(tmp_path / "tiny.csv")
    ckpt = linear_checkpoint(tmp_path / "m.ckpt")
    out = tmp_path / "kept.csv"
    out.write_text("mine\n")
    assert main([str(ckpt), str(tmp_path / "tiny.csv"), "--out", str(out)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert out.read_text() == "mine\n"


def test_console_script_and_module_point_at_main() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    module, name = re.search(r'^stanhop-evaluate = "([\w.]+):(\w+)"$', text, re.M).groups()
    assert getattr(importlib.import_module(module), name) is main
    assert importlib.import_module("stanhop.evaluate").main is main


def test_the_test_split_reproduces_the_runs_test_metrics(synthetic_run, tmp_path, capsys):
    """Scored from the test split's first forecast step to the end of the data, the
    backtest's windows are the run's test windows (debug=fast tests on all of them), so
    its figures are the run's."""
    from stanhop.data import from_csv

    datamodule = from_csv(synthetic_run.csv, in_len=48, out_len=12)
    datamodule.setup()
    first = datamodule.bounds["test"][0] + 48
    start = str(synthetic_run.frame.index[first])
    out = tmp_path / "bt.csv"
    assert main([str(synthetic_run.ckpt), str(synthetic_run.csv), "--start", start,
                 "--out", str(out)]) == 0  # fmt: skip
    windows = pd.read_csv(out)
    metrics = json.loads((synthetic_run.ckpt.parents[1] / "metrics.json").read_text())
    assert len(windows) == len(datamodule.datasets["test"])
    assert windows["model_mse"].mean() == pytest.approx(metrics["test/mse"], rel=1e-5)
    assert windows["model_mae_orig"].mean() == pytest.approx(metrics["test/mae_orig"], rel=1e-5)
    naive = metrics["test/seasonal_naive_mse"]
    assert windows["seasonal_naive_mse"].mean() == pytest.approx(naive, rel=1e-5)
    assert windows["coverage_80"].mean() == pytest.approx(metrics["test/coverage_80"], rel=1e-5)


def test_the_simulated_backtest_calibrates_on_the_training_split(synthetic_run, tmp_path, capsys):
    from stanhop import Forecaster
    from stanhop.forecast.backtest import backtest
    from stanhop.measures import SimulatedQuantModel

    out = tmp_path / "bt.csv"
    argv = [str(synthetic_run.ckpt), str(synthetic_run.csv), "--out", str(out)]
    assert main([*argv, "--quantize", "w8a8"]) == 0
    # By hand: the last 512 windows of the rows up to the end of the training split.
    forecaster = Forecaster.load(synthetic_run.ckpt)
    frame = synthetic_run.frame
    train = frame.loc[: forecaster.last_train_timestamp].to_numpy(np.float64)
    x = torch.as_tensor(forecaster.scaler.transform(train), dtype=torch.float32)
    windows = torch.stack([x[i : i + 48] for i in range(len(x) - 48 + 1)])[-512:]
    quantized = SimulatedQuantModel(forecaster.model, "W8A8")
    quantized.calibrate(windows.split(32))
    forecaster.model = quantized
    expected = backtest(forecaster, frame).windows["model_mse"].to_numpy()
    np.testing.assert_allclose(pd.read_csv(out)["model_mse"], expected, rtol=1e-5)

    assert main([*argv, "--force", "--quantize", "int4"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --quantize: bit widths 'int4'") and "\n" not in err
    assert err.endswith("; or int8 for the real integer model")
