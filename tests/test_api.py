"""stanhop.fit: a DataFrame (wide or long) trains exactly what the training command trains
on the same data and seed, and the returned forecaster forecasts from frames; long CSV
files train like wide ones."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

import stanhop
from stanhop.cli.train_overrides import UsageError
from stanhop.data import DataError, make_synthetic, to_long
from stanhop.files.checkpoint import load_checkpoint

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
    forecaster, metrics = stanhop.fit(df, FAST, tmp_path / "run")
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
        stanhop.fit(frame, ["data.inlen=4"], tmp_path / "a")
    with pytest.raises(DataError, match=r"^DataFrame: data\.targets names 'zz', not a column"):
        stanhop.fit(frame, [*FAST[:-1], "data.targets=[zz]"], tmp_path / "b")
    assert not (tmp_path / "b" / "checkpoints").exists()
