"""Forecasts that would be silently wrong become a warning or an error: a history far from
the training data (warning; --strict: error), files with other separators, repeated
column names, a --plot that cannot be written; and a run folder in place of a checkpoint.
CLI behaviour is checked in a fresh process: status, the lines on stderr, no traceback,
inputs untouched."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stanhop import Forecaster
from stanhop.data import DataWarning
from stanhop.files.checkpoint import CheckpointError
from stanhop.files.run_dir import best_checkpoint

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: object) -> subprocess.CompletedProcess:
    """``python forecast.py ARGS`` in a fresh process."""
    return subprocess.run(
        [sys.executable, str(ROOT / "forecast.py"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"},
    )


def stderr_lines(result: subprocess.CompletedProcess) -> list[str]:
    assert "Traceback" not in result.stderr
    return result.stderr.strip().splitlines()


@pytest.fixture
def in_watts(synthetic_run, tmp_path) -> Path:
    """The synthetic history with series s1 in units 1000 times smaller (kW → W)."""
    path = tmp_path / "watts.csv"
    synthetic_run.frame.assign(s1=synthetic_run.frame["s1"] * 1000).to_csv(path)
    return path


def expected_level(run, in_len: int, forecaster: Forecaster) -> float:
    """By hand: the last in_len values of s1 times 1000, in training standard deviations
    from the training mean."""
    window = run.frame["s1"].to_numpy()[-in_len:] * 1000
    return (window.mean() - forecaster.scaler.mean[1]) / forecaster.scaler.std[1]


def test_a_history_in_other_units_warns_naming_the_series(synthetic_run, in_watts) -> None:
    forecaster = Forecaster.load(synthetic_run.ckpt)
    with pytest.warns(DataWarning) as caught:
        forecaster.predict(in_watts)
    messages = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert len(messages) == 1, messages
    level = expected_level(synthetic_run, forecaster.in_len, forecaster)
    assert abs(level) > 100
    assert messages[0].startswith(f"{in_watts}: series 's1' averages ")
    assert f"{level:+.3g} training standard deviations from the training mean" in messages[0]
    assert messages[0].endswith(
        "in the last 48 rows, far from the data the model was trained on: the forecast, made "
        "at the training scale, may be wrong; check the series' units"
    )


def test_the_training_history_itself_gives_no_warning(synthetic_run) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        Forecaster.load(synthetic_run.ckpt).predict(synthetic_run.csv)


def test_the_command_warns_and_strict_stops(synthetic_run, in_watts, tmp_path) -> None:
    before = in_watts.read_bytes()
    out = tmp_path / "out.csv"
    warned = run_cli(synthetic_run.ckpt, in_watts, "-o", out)
    assert warned.returncode == 0
    lines = stderr_lines(warned)
    assert lines[0].startswith(f"warning: {in_watts}: series 's1' averages ") and len(lines) == 2
    assert lines[1].startswith(f"wrote {out}")

    out.unlink()
    strict = run_cli(synthetic_run.ckpt, in_watts, "-o", out, "--strict")
    assert strict.returncode == 2
    [line] = stderr_lines(strict)
    assert line.startswith(f"error: {in_watts}: series 's1' averages ")
    assert not out.exists() and in_watts.read_bytes() == before


def test_semicolons_and_decimal_commas_read_with_sep_and_decimal(synthetic_run, tmp_path):
    path = tmp_path / "semicolons.csv"
    synthetic_run.frame.to_csv(path, sep=";", decimal=",")
    before = path.read_bytes()
    plain = run_cli(synthetic_run.ckpt, path, "-o", "-")
    assert plain.returncode == 2
    [line] = stderr_lines(plain)
    assert line == (
        f"error: {path}: the header is a single column when split at ',', but the file is "
        """separated by semicolons; pass sep=';' ('data.sep=";"' for training, --sep ';' for """
        """forecast.py), and decimal=',' for its decimal commas ('data.decimal=","' for """
        "training, --decimal ',' for forecast.py)"
    )
    read = run_cli(synthetic_run.ckpt, path, "-o", "-", "--sep", ";", "--decimal", ",")
    assert read.returncode == 0, read.stderr
    got = pd.read_csv(pd.io.common.StringIO(read.stdout), index_col=0, parse_dates=True)
    expected = Forecaster.load(synthetic_run.ckpt).predict(synthetic_run.csv)
    pd.testing.assert_frame_equal(got, expected, check_freq=False)
    assert path.read_bytes() == before


def test_a_repeated_column_name_is_one_line(synthetic_run, tmp_path) -> None:
    path = tmp_path / "repeated.csv"
    frame = synthetic_run.frame.copy()
    frame.insert(3, "s0_copy", frame["s0"])
    frame.to_csv(path)
    path.write_text(path.read_text().replace("s0_copy", "s0", 1))
    result = run_cli(synthetic_run.ckpt, path, "-o", "-")
    assert result.returncode == 2
    [line] = stderr_lines(result)
    assert line == (
        f"error: {path}: column name 's0' appears more than once in the header (columns 2 "
        "and 5); give every column its own name on the first line"
    )


@pytest.mark.parametrize("where", ["missing-folder", "folder-is-a-file"])
def test_an_unwritable_plot_is_found_before_the_csv_is_written(synthetic_run, tmp_path, where):
    (tmp_path / "file").write_text("not a folder")
    parent = tmp_path / ("nowhere" if where == "missing-folder" else "file")
    out, plot = tmp_path / "out.csv", parent / "plot.png"
    result = run_cli(synthetic_run.ckpt, synthetic_run.csv, "-o", out, "--plot", plot)
    assert result.returncode == 2
    [line] = stderr_lines(result)
    what = "does not exist" if where == "missing-folder" else "is not a folder"
    assert line == (
        f"error: {plot}: its folder {parent} {what}; create the folder or choose another --plot"
    )
    assert not out.exists()


def test_a_run_folder_forecasts_with_its_best_checkpoint(synthetic_run, tmp_path) -> None:
    run_dir = synthetic_run.ckpt.parents[1]
    assert best_checkpoint(run_dir) == synthetic_run.ckpt
    assert best_checkpoint(run_dir / "checkpoints") == synthetic_run.ckpt
    result = run_cli(run_dir, synthetic_run.csv, "-o", "-", "--horizon", "3")
    assert result.returncode == 0, result.stderr
    got = pd.read_csv(pd.io.common.StringIO(result.stdout), index_col=0, parse_dates=True)
    expected = Forecaster.load(synthetic_run.ckpt).predict(synthetic_run.csv, horizon=3)
    pd.testing.assert_frame_equal(got, expected, check_freq=False)


def test_a_folder_without_a_best_checkpoint_says_what_it_holds(tmp_path) -> None:
    with pytest.raises(CheckpointError) as info:
        best_checkpoint(tmp_path)
    assert str(info.value) == (
        f"{tmp_path}: a folder without checkpoints/best.ckpt; give the folder of a training "
        "run (train.py prints it at the end) or a .ckpt file"
    )
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.ckpt").write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"no best.ckpt yet, only .*last.ckpt"):
        best_checkpoint(tmp_path)


def test_an_empty_folder_is_one_line_from_the_command(tmp_path, synthetic_run) -> None:
    result = run_cli(tmp_path, synthetic_run.csv, "-o", "-")
    assert result.returncode == 2
    [line] = stderr_lines(result)
    assert line.startswith(f"error: {tmp_path}: a folder without checkpoints/best.ckpt")
    assert list(tmp_path.iterdir()) == []


def test_wide_and_long_histories_give_the_same_digits(synthetic_run, tmp_path) -> None:
    # a wide CSV reads column-major, a pivoted long one row-major: the forecast was
    # ~1e-7 apart between them until the window was made C-ordered
    from stanhop.data import to_long

    long = tmp_path / "long.csv"
    to_long(synthetic_run.frame).to_csv(long, index=False)
    forecaster = Forecaster.load(synthetic_run.ckpt)
    wide_forecast = forecaster.predict(synthetic_run.csv)
    long_forecast = forecaster.predict(long, format="long")  # long in, long out
    as_long = wide_forecast.melt(ignore_index=False)["value"].to_numpy()  # series by series
    np.testing.assert_array_equal(as_long, long_forecast[type(forecaster.model).__name__])
