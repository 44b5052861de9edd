"""A run folder that already holds a run: a new run started in it keeps the earlier one
aside (never replaces it), and an interrupted run says how to go on."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from stanhop.data import make_synthetic
from stanhop.files.run_dir import keep_earlier_run

ROOT = Path(__file__).resolve().parents[2]
TINY = ["debug=fast", "logger=none", "callbacks.outliers=null", "callbacks.quantization=null"]


def fill(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


RUN_FILES = {
    "metrics.json": '{"test/mse": 0.4}',
    "config.yaml": "seed: 1\n",
    "checkpoints/best.ckpt": "best",
    "checkpoints/last.ckpt": "last",
    "csv/metrics.csv": "epoch\n0\n",
    "outliers.csv": "tap\n",
}
HYDRA_FILES = {".hydra/config.yaml": "new run's\n", "train.log": "log\n"}


def test_an_earlier_run_is_moved_whole_into_a_previous_folder(tmp_path) -> None:
    fill(tmp_path, RUN_FILES | HYDRA_FILES)
    aside = keep_earlier_run(tmp_path, now=datetime(2026, 1, 2, 3, 4, 5, 6))
    assert aside == tmp_path / "previous-2026-01-02_03-04-05-000006"
    for name, text in RUN_FILES.items():
        assert (aside / name).read_text() == text
        assert not (tmp_path / name).exists()
    for name, text in HYDRA_FILES.items():  # already the new run's
        assert (tmp_path / name).read_text() == text
    # a third run keeps the second aside too, and leaves the first where it is
    fill(tmp_path, RUN_FILES)
    second = keep_earlier_run(tmp_path)
    assert second != aside and (second / "metrics.json").is_file()
    assert (aside / "checkpoints" / "best.ckpt").read_text() == "best"


@pytest.mark.parametrize("marks", [["metrics.json"], ["checkpoints/last.ckpt"]])
def test_a_finished_or_interrupted_run_counts_as_a_run(tmp_path, marks) -> None:
    fill(tmp_path, {name: "x" for name in marks})
    assert keep_earlier_run(tmp_path) is not None


def test_a_folder_without_a_run_is_left_alone(tmp_path) -> None:
    fill(tmp_path, HYDRA_FILES | {"notes.txt": "mine"})
    assert keep_earlier_run(tmp_path) is None
    assert (tmp_path / "notes.txt").read_text() == "mine"


def run(*args: object, script: str = "train.py") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / script), *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow  # two training processes
def test_the_main_command_run_twice_keeps_the_first_run(tmp_path) -> None:
    csv = tmp_path / "demo.csv"
    make_synthetic(n_series=2, n_steps=400, seed=2).to_csv(csv)
    run_dir = tmp_path / "demo"
    train = [*TINY, "data=csv", f"data.path={csv}", f"hydra.run.dir={run_dir}"]
    forecast = [run_dir / "checkpoints" / "best.ckpt", csv, "--plot", tmp_path / "f.png"]
    first = run(*train)
    assert first.returncode == 0, first.stderr[-2000:]
    assert run(*forecast, "--force", script="forecast.py").returncode == 0
    metrics, best = (run_dir / "metrics.json").read_text(), (run_dir / "checkpoints/best.ckpt")
    best_bytes = best.read_bytes()

    second = run(*train, "seed=7")
    assert second.returncode == 0, second.stderr[-2000:]
    [aside] = run_dir.glob("previous-*")
    assert f"already held a run: moved it to {aside}" in second.stderr
    assert (aside / "metrics.json").read_text() == metrics
    assert (aside / "checkpoints" / "best.ckpt").read_bytes() == best_bytes
    assert best.read_bytes() != best_bytes  # the new run's, trained with another seed
    again = run(*forecast, "--force", script="forecast.py")
    assert again.returncode == 0, again.stderr


def as_from_a_terminal() -> None:
    """Ctrl+C reaches the child as it reaches a command started from a shell: a library
    run earlier in this test process may have blocked SIGINT, and a child inherits the
    blocked mask (its Ctrl+C would then wait forever)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow  # a training process, interrupted
def test_ctrl_c_says_how_to_resume(tmp_path) -> None:
    run_dir = tmp_path / "run"
    # Long enough to be still training when the test (a starved process, on a loaded
    # machine) notices the first checkpoint: no early stopping, many epochs.
    often = ["trainer.max_epochs=500", "callbacks.early_stopping=null"]
    often += ["callbacks.step_checkpoint.every_n_train_steps=2"]
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), *TINY, *often, f"hydra.run.dir={run_dir}"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=as_from_a_terminal,
    )
    deadline = time.monotonic() + 300
    while not (run_dir / "checkpoints" / "last.ckpt").is_file() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("interrupted: the run can go on from ")
    assert "ckpt_path=last" in last and f"hydra.run.dir={run_dir}" in last
