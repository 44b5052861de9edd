"""The training command: mistyped settings and unwritable output folders as one line
before anything starts; irregular timestamps refused; a run's start and end (the data
summary, the checkpoint and a forecast command that works when pasted); third-party noise
silenced while stanhop's warnings show. Each in a fresh process, as a user runs it."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from stanhop.cli.train import forecast_hint
from stanhop.data import make_synthetic

ROOT = Path(__file__).resolve().parents[2]
TINY = ["debug=fast", "logger=none", "callbacks.outliers=null", "callbacks.quantization=null"]


def run_train(*args: object, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HYDRA_FULL_ERROR": "0"},
    )


def one_error_line(result: subprocess.CompletedProcess, alone: bool = True) -> str:
    """The error line that ends ``result``'s stderr; ``alone``: the only line (a check
    made before the run starts), else after the run's opening lines."""
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 or not alone, lines
    assert lines[-1].startswith("error: ")
    return lines[-1]


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("hopfeld=softmax", "hopfeld: no setting 'hopfeld'; did you mean hopfield=softmax?"),
        ("data.inlen=48", "data.inlen: data has no setting 'inlen'; did you mean data.in_len=48?"),
        (
            "model=dlinar",
            "model=dlinar: the model group has no option 'dlinar'; did you mean "
            "model=dlinear? its options are 'dlinear', 'stanhop'",
        ),
        (
            "trainer.zzz=1",
            "trainer.zzz: trainer has no setting 'zzz'; check the spelling, or add it as a new "
            "setting with +trainer.zzz=…",
        ),
    ],
)
def test_a_mistyped_setting_names_the_nearest(tmp_path, override, expected) -> None:
    result = run_train(override, f"hydra.run.dir={tmp_path / 'run'}")
    assert one_error_line(result) == f"error: {expected}"
    assert not (tmp_path / "run").exists()


@pytest.mark.slow  # a command end to end: seconds
def test_a_word_for_a_number_stops_the_command_in_one_line(tmp_path) -> None:
    result = run_train("model.d_model=abc", f"hydra.run.dir={tmp_path / 'run'}")
    assert one_error_line(result).startswith("error: model.d_model=abc: model.d_model takes")
    assert not (tmp_path / "run").exists()


@pytest.mark.slow  # a run or command end to end: seconds each
@pytest.mark.parametrize("key", ["hydra.run.dir", "paths.output_dir"])
def test_an_output_folder_under_a_file_is_one_line_before_work(tmp_path, key) -> None:
    (tmp_path / "file").write_text("keep me")
    folder = tmp_path / "file" / "run"
    line = one_error_line(run_train(*TINY, f"{key}={folder}"))
    assert line == (
        f"error: {key}={folder}: {tmp_path / 'file'} is a file, not a folder; choose another {key}"
    )
    assert (tmp_path / "file").read_text() == "keep me"


@pytest.mark.slow  # a run or command end to end: seconds each
def test_an_irregular_index_stops_training_with_the_step(tmp_path) -> None:
    frame = make_synthetic(n_series=2, n_steps=400, seed=2)
    path = tmp_path / "gap.csv"
    frame.drop(frame.index[100]).to_csv(path)
    before = path.read_bytes()
    result = run_train(*TINY, "data=csv", f"data.path={path}", f"hydra.run.dir={tmp_path}/run")
    line = one_error_line(result, alone=False)
    assert line == (
        f"error: {path}: the timestamps are irregular: the step from {frame.index[99]} to "
        f"{frame.index[101]} is 2 hours, elsewhere 1 hour, so training windows would span the "
        "gaps; resample the data to one step (data.irregular=resample fills missing steps by "
        "time interpolation), or train on it as it is with data.irregular=warn "
        "(--debug shows the traceback)"
    )
    assert path.read_bytes() == before


@pytest.mark.slow  # a run or command end to end: seconds each
def test_a_run_says_what_it_trains_on_and_how_to_forecast(tmp_path) -> None:
    # A file with semicolons and decimal commas and one missing row, trained with warn:
    # stanhop's warning shows, Lightning's tips and repeats do not, and the printed
    # forecast command works as pasted.
    frame = make_synthetic(n_series=2, n_steps=400, seed=2)
    path = tmp_path / "semi.csv"
    frame.drop(frame.index[100]).to_csv(path, sep=";", decimal=",")
    run_dir = tmp_path / "run"
    overrides = ["data=csv", f"data.path={path}", 'data.sep=";"', 'data.decimal=","']
    result = run_train(*TINY, *overrides, "data.irregular=warn", f"hydra.run.dir={run_dir}")
    assert result.returncode == 0, result.stderr[-3000:]
    err = result.stderr.splitlines()
    assert any(line.startswith(f"warning: {path}: the timestamps are irregular") for line in err)
    summary = [line for line in err if line.startswith(f"data {path}: ")]
    # 399 rows: train int(0.7 * 399) = 279, test int(0.2 * 399) = 79, val the 41 left;
    # windows of 48 + 12 rows: 279 - 59 = 220, (48 + 41) - 59 = 30, (48 + 79) - 59 = 68
    kept = frame.index.delete(100)
    assert summary == [
        f"data {path}: 2 series, frequency none, in_len=48, out_len=12; train 279 rows "
        f"{kept[0]} to {kept[278]} (220 windows); val 41 rows {kept[279]} to {kept[319]} "
        f"(30 windows); test 79 rows {kept[320]} to {kept[398]} (68 windows)"
    ]
    for noise in ("💡 Tip", "does not have many workers", "LeafSpec", "Loaded model weights"):
        assert noise not in result.stderr
    assert result.stderr.count("Restoring states from the checkpoint path") <= 1

    out = result.stdout.splitlines()
    assert f"best checkpoint: {run_dir / 'checkpoints' / 'best.ckpt'}" in out
    [command] = [line.removeprefix("forecast: ") for line in out if line.startswith("forecast: ")]
    assert command == f"python forecast.py {run_dir} {path} --sep ';' --decimal ,"
    forecast = subprocess.run(
        [sys.executable, *shlex.split(command)[1:], "-o", "-"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert forecast.returncode == 0, forecast.stderr
    assert len(forecast.stdout.splitlines()) == 1 + 12  # header and out_len rows


def test_the_hint_names_only_paths_that_exist(tmp_path) -> None:
    assert forecast_hint(tmp_path, tmp_path / "data.csv", "stanhop-forecast") == []
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "best.ckpt").write_bytes(b"")
    best, command = forecast_hint(tmp_path, tmp_path / "missing.csv", "stanhop-forecast")
    assert best == f"best checkpoint: {tmp_path / 'checkpoints' / 'best.ckpt'}"
    assert command.startswith(f"forecast: stanhop-forecast {tmp_path} HISTORY.csv  (HISTORY.csv:")


def test_train_from_python_refuses_an_output_folder_under_a_file(compose_cfg, tmp_path) -> None:
    from stanhop.training.train import train

    (tmp_path / "file").write_text("keep me")
    cfg = compose_cfg("debug=fast", "logger=none", f"paths.output_dir={tmp_path}/file/run")
    with pytest.raises(ValueError, match=r"^paths.output_dir=.*/file/run: cannot create it \("):
        train(cfg)
    assert (tmp_path / "file").read_text() == "keep me"


@pytest.mark.slow  # a fresh interpreter: seconds
def test_help_describes_the_command() -> None:
    result = run_train("--help")
    assert result.returncode == 0
    assert result.stdout.startswith("stanhop-train (python train.py): train, validate and test")
    assert "--config-dir DIR" in result.stdout
    assert "model: dlinear, stanhop" in result.stdout
    assert "powered by Hydra" not in result.stdout


@pytest.mark.slow  # a fresh interpreter: seconds
def test_the_wandb_logger_without_wandb_names_the_extra(tmp_path) -> None:
    # wandb is an extra: an environment without it gets one line naming the extra
    code = (
        "import sys; sys.modules['wandb'] = None; "
        f"sys.argv = ['train.py', *{[*TINY[:1], 'logger=wandb', f'hydra.run.dir={tmp_path}']!r}]; "
        "from stanhop.cli.train import main; main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    line = one_error_line(result, alone=False)
    assert line.startswith(
        "error: logger=wandb needs the wandb package: pip install 'stanhop[wandb]' (or choose "
        "logger=csv)"
    )
