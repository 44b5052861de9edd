"""stanhop.fit: a DataFrame (wide or long) trains exactly what the training command trains
on the same data and seed, its keywords are the overrides they stand for, and the returned
forecaster forecasts from frames in the layout it is given; long CSV files train like
wide ones; a run is quiet, and two runs never share a folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

import stanhop
from stanhop import api
from stanhop.api import fit_overrides
from stanhop.data import DataError, DataWarning, FrameSource, make_synthetic, to_long
from stanhop.data.long import parse_long_frame
from stanhop.files.checkpoint import load_checkpoint
from stanhop.training.overrides import UsageError

ROOT = Path(__file__).resolve().parents[1]
FAST = ["debug=fast", "logger=none", "callbacks.outliers=null", "callbacks.quantization=null"]
FAST += ["data.targets=[s2]"]
TRAIN = [sys.executable, str(ROOT / "train.py"), *FAST, "data=csv"]


def weights(run: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(run / "checkpoints" / "best.ckpt")["state_dict"]


def same_weights(a: Path, b: Path) -> bool:
    wa, wb = weights(a), weights(b)
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.fixture(scope="module")
def command_run(tmp_path_factory) -> tuple[pd.DataFrame, Path, Path]:
    """The training command on a wide CSV, and the long CSV of the same data."""
    root = tmp_path_factory.mktemp("api")
    frame = make_synthetic(n_series=3, n_steps=24 * 30, seed=4)
    frame.to_csv(root / "wide.csv")
    to_long(frame).to_csv(root / "long.csv", index=False)
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "train.py"),
            *FAST,
            "data=csv",
            f"data.path={root / 'wide.csv'}",
            f"hydra.run.dir={root / 'cmd'}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HYDRA_FULL_ERROR": "0"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return frame, root, root / "cmd"


@pytest.mark.parametrize("layout", ["wide", "wide_index", "long"])
def test_fit_trains_the_commands_weights(command_run, tmp_path, layout) -> None:
    frame, root, cmd = command_run
    df = {
        "wide": pd.read_csv(root / "wide.csv"),
        "wide_index": frame,
        "long": pd.read_csv(root / "long.csv"),
    }[layout]
    forecaster, metrics = stanhop.fit(
        df, overrides=FAST, output_dir=tmp_path / "run", evaluate=True
    )
    assert same_weights(tmp_path / "run", cmd)
    assert forecaster.targets == ["s2"]
    cmd_forecaster = stanhop.Forecaster.load(cmd / "checkpoints" / "best.ckpt")
    pd.testing.assert_frame_equal(forecaster.predict(frame), cmd_forecaster.predict(frame))
    assert metrics["test/mse"] == pytest.approx(
        pd.read_json(cmd / "metrics.json", typ="series")["test/mse"]
    )


@pytest.mark.slow  # a run or command end to end: seconds each
def test_the_command_reads_long_csv_files(command_run, tmp_path) -> None:
    _, root, cmd = command_run
    run = tmp_path / "long"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "train.py"),
            *FAST,
            "data=csv",
            f"data.path={root / 'long.csv'}",
            f"hydra.run.dir={run}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert same_weights(run, cmd)


def test_fit_refuses_bad_settings_and_data_in_one_line(command_run, tmp_path) -> None:
    frame = command_run[0]
    with pytest.raises(UsageError, match=r"^data\.inlen: data has no setting 'inlen'"):
        stanhop.fit(frame, overrides=["data.inlen=4"], output_dir=tmp_path / "a")
    with pytest.raises(DataError, match=r"^DataFrame: data\.targets names 'zz', not a column"):
        stanhop.fit(frame, targets="zz", overrides=FAST[:-1], output_dir=tmp_path / "b")
    assert not (tmp_path / "b" / "checkpoints").exists()
    for override, advice in [
        ("data.path=x.csv", "fit trains on the DataFrame it is given; drop data.path"),
        ("hydra.run.dir=x", "fit takes no Hydra settings; give the run's folder as output_dir="),
        ("data.decimal=,", "a DataFrame's numbers are taken as they are; convert text"),
    ]:
        with pytest.raises(UsageError, match=f"^{re.escape(override)}: {re.escape(advice)}"):
            stanhop.fit(frame, overrides=[*FAST, override], output_dir=tmp_path / "c")
    assert not (tmp_path / "c").exists()


def test_the_keywords_are_the_overrides_they_stand_for() -> None:
    settings = fit_overrides(
        model="dlinear", horizon=12, input_len=48, targets="s2", calendar=["hour"],
        future=("s1",), max_epochs=3, overrides=["seed=3"],
    )  # fmt: skip
    assert settings[: settings.index("++callbacks.progress_bar=null")] == [
        "data=csv",
        "model=dlinear",
        "data.out_len=12",
        "data.in_len=48",
        "trainer.max_epochs=3",
        "data.targets=[s2]",
        "data.calendar=[hour]",
        "data.future=[s1]",
    ]
    assert settings[-1] == "seed=3"  # the user's overrides come last, and win
    # None leaves the config's value, so an experiment file or debug=fast keeps its own
    assert fit_overrides(verbose=True) == ["data=csv", "model=stanhop"]


@pytest.mark.slow  # two tiny runs: seconds
def test_keywords_train_the_same_run_as_overrides(command_run, tmp_path) -> None:
    frame = command_run[0]
    a = stanhop.fit(
        frame, horizon=6, targets="s2", max_epochs=1, output_dir=tmp_path / "a",
        overrides=FAST[:-1],
    )  # fmt: skip
    b = stanhop.fit(
        frame,
        output_dir=tmp_path / "b",
        overrides=[*FAST[:-1], "data.out_len=6", "data.targets=[s2]", "trainer.max_epochs=1"],
    )
    assert same_weights(a.run_dir, b.run_dir)
    timings = ("train/fit_seconds", "train/data_wait_share")
    assert {k: v for k, v in a.metrics.items() if k not in timings} == {
        k: v for k, v in b.metrics.items() if k not in timings
    }
    assert a.forecaster.out_len == 6 and a.run_dir == tmp_path / "a"
    # the test split was never evaluated: evaluate=False
    assert not [key for key in a.metrics if key.startswith("test/")]


def test_long_in_gives_long_out_and_wide_in_wide_out(command_run) -> None:
    frame, _, cmd = command_run
    forecaster = stanhop.Forecaster.load(cmd)
    wide = forecaster.predict(frame, intervals=(80, 95))
    long = forecaster.predict(to_long(frame), intervals=(80, 95))
    name = type(forecaster.model).__name__
    assert list(long.columns) == [
        "unique_id", "ds", name, f"{name}-lo-80", f"{name}-hi-80", f"{name}-lo-95",
        f"{name}-hi-95",
    ]  # fmt: skip
    assert list(long.unique_id.unique()) == ["s2"]
    assert (long.ds.to_numpy() == wide.index.to_numpy()).all()
    for wide_column, long_column in [("s2", name), ("s2_lo_80", f"{name}-lo-80")]:
        assert long[long_column].to_numpy() == pytest.approx(wide[wide_column].to_numpy())
    assert list(wide.columns[:1]) == ["s2"] and wide.index.name != "unique_id"


@pytest.mark.slow  # a tiny run: seconds
def test_fit_is_quiet_and_never_shares_a_folder(command_run, tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    folders = {api._default_output_dir() for _ in range(50)}
    assert len(folders) == 50 and all(f.is_dir() for f in folders)
    result = stanhop.fit(command_run[0], overrides=FAST)
    assert result.run_dir.parent.parent == tmp_path / "outputs" / "fit"
    assert result.run_dir not in {f.resolve() for f in folders}
    out, err = capfd.readouterr()
    assert out == "" and err == "", (out, err)


def test_a_long_frames_extra_columns_are_named_or_dropped_with_a_warning() -> None:
    stamps = pd.date_range("2024-01-01", periods=6, freq="h")
    temp = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    a = pd.DataFrame({"unique_id": "a", "ds": stamps, "y": range(6), "temp": temp, "z": 0})
    b = pd.DataFrame({"unique_id": "b", "ds": stamps[2:], "y": range(4), "temp": temp[2:]})
    long = pd.concat([a, b])
    with pytest.warns(DataWarning) as caught:
        frame = parse_long_frame(long, "DataFrame", "ffill", covariates=["temp"])
    messages = [str(w.message) for w in caught]
    assert any("the column(s) 'z' of the long table are not used" in m for m in messages)
    assert any("series 'b' starts 2 row(s) after the others" in m for m in messages)
    assert list(frame.columns) == ["a", "b", "temp"]
    assert frame.temp.tolist() == temp and frame.b.tolist() == [0, 0, 0, 1, 2, 3]
    with pytest.raises(DataError, match="covariate 'temp' differs between series"):
        parse_long_frame(
            long.assign(temp=range(len(long))), "DataFrame", "ffill", ["a"], None, ["temp"]
        )


@pytest.mark.slow  # two tiny runs: seconds
def test_fit_refits_on_every_row(command_run, tmp_path) -> None:
    frame = command_run[0]
    split = "data.split={train: 0.8, val: 0.2, test: 0}"
    result = stanhop.fit(frame, refit=True, output_dir=tmp_path / "run", overrides=[*FAST, split])
    assert result.validated_dir == tmp_path / "run"
    assert result.run_dir == tmp_path / "run-refit"
    assert "val/mse" in result.metrics and "refit/loss" in result.metrics
    refit = load_checkpoint(result.run_dir / "checkpoints" / "best.ckpt")
    validated = load_checkpoint(tmp_path / "run" / "checkpoints" / "best.ckpt")
    assert refit["epoch"] == validated["epoch"]
    torch.testing.assert_close(refit["intervals"], validated["intervals"])
    assert result.forecaster.predict(frame).shape == (12, 1)


def test_decimal_commas_in_a_frame_are_not_sent_to_a_file_option() -> None:
    frame = make_synthetic(n_series=2, n_steps=30, seed=1)
    frame["s1"] = frame["s1"].map(lambda v: f"{v:.3f}".replace(".", ","))
    with pytest.raises(DataError) as err:
        FrameSource(frame).load()
    message = str(err.value)
    assert "a number with a decimal comma; convert the column first: df['s1']" in message
    assert "data.decimal" not in message
