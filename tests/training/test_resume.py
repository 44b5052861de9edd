"""Crash and resume: a run killed with SIGKILL mid-epoch and resumed from last.ckpt ends
with the metrics of the uninterrupted run; checkpoints are written atomically and read
only as tensors and plain values."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from stanhop.files.checkpoint import CheckpointError
from stanhop.training.checkpoint_io import AtomicCheckpointIO
from stanhop.training.train import train

ROOT = Path(__file__).resolve().parents[2]
BATCHES_PER_EPOCH = 30
# A tiny deterministic run of three epochs with last.ckpt every 3 steps.
RUN = [
    "debug=fast",
    "seed=5",
    "trainer.deterministic=true",
    "trainer.max_epochs=3",
    f"trainer.limit_train_batches={BATCHES_PER_EPOCH}",
    "callbacks.step_checkpoint.every_n_train_steps=3",
    "callbacks.early_stopping=null",
    "callbacks.quantization.calibration_batches=2",
]


def run_train(*overrides: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "train.py", *RUN, *overrides],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def saved_step(path: Path) -> int | None:
    """The global step of a checkpoint, or None while there is none."""
    if not path.is_file():
        return None
    return torch.load(path, map_location="cpu", weights_only=True)["global_step"]


def kill_mid_epoch(process: subprocess.Popen, last: Path, epoch: int) -> int:
    """SIGKILL ``process`` once last.ckpt holds a step inside ``epoch`` (not its end)."""
    first, end = epoch * BATCHES_PER_EPOCH, (epoch + 1) * BATCHES_PER_EPOCH
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        step = saved_step(last)
        if step is not None and first < step < end:
            process.send_signal(signal.SIGKILL)
            process.wait()
            return step
        time.sleep(0.005)
    process.kill()
    pytest.fail(f"the run ended (or hung) before a mid-epoch checkpoint: {process.stderr.read()}")


@pytest.mark.slow  # three training processes, about a minute: SIGKILL needs a real process
def test_a_run_killed_mid_epoch_and_resumed_ends_with_the_uninterrupted_metrics(
    tmp_path: Path,
) -> None:
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    uninterrupted = run_train(f"hydra.run.dir={whole}")
    interrupted = run_train(f"hydra.run.dir={killed}")
    killed_at = kill_mid_epoch(interrupted, killed / "checkpoints" / "last.ckpt", epoch=1)
    assert uninterrupted.wait() == 0, uninterrupted.stderr.read()
    assert not (killed / "metrics.json").exists()
    resumed_from = saved_step(killed / "checkpoints" / "last.ckpt")
    assert resumed_from % BATCHES_PER_EPOCH != 0  # the resume really starts mid-epoch
    assert resumed_from >= killed_at

    resumed = run_train(f"hydra.run.dir={killed}", "ckpt_path=last")
    assert resumed.wait() == 0, resumed.stderr.read()
    expected = json.loads((whole / "metrics.json").read_text())
    got = json.loads((killed / "metrics.json").read_text())
    for timing in ("train/fit_seconds", "train/data_wait_share"):
        del expected[timing], got[timing]
    assert got == expected
    # The interrupted run's epoch log is kept beside the resumed run's.
    assert (killed / "csv" / "metrics.part1.csv").is_file()
    assert (killed / "csv" / "metrics.csv").is_file()


def test_a_failed_save_leaves_the_previous_checkpoint_whole(tmp_path: Path) -> None:
    path = tmp_path / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"state_dict": {"w": torch.ones(3)}}, path)
    before = path.read_bytes()

    class Unsaveable:
        def __reduce__(self):
            raise RuntimeError("disk full")  # torch.save fails half-way through the file

    big = {"state_dict": {"w": torch.zeros(100_000)}, "later": Unsaveable()}
    with pytest.raises(RuntimeError, match="disk full"):
        io.save_checkpoint(big, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]  # no temporary left


class Payload:
    """Unpickling this would create a file: proof that a checkpoint ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_resuming_from_a_pickled_checkpoint_is_refused_without_running_it(
    compose_cfg, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    crafted = tmp_path / "crafted.ckpt"
    torch.save({"state_dict": {}, "payload": Payload(marker)}, crafted)
    cfg = compose_cfg("debug=fast", "logger=none", f"ckpt_path={crafted}")
    with pytest.raises(CheckpointError, match="pickled Python objects"):
        train(cfg)
    assert not marker.exists()


@pytest.mark.slow  # a run or command end to end: seconds each
def test_resuming_from_a_truncated_checkpoint_is_a_clear_error(compose_cfg, tmp_path) -> None:
    cfg = compose_cfg("debug=fast", "logger=none")
    train(cfg)
    last = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    resume = compose_cfg("debug=fast", "logger=none", "ckpt_path=last")
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        train(resume)


@pytest.mark.slow  # a run or command end to end: seconds each
def test_cli_resume_errors_are_one_line(tmp_path: Path) -> None:
    crafted = tmp_path / "crafted.ckpt"
    torch.save({"state_dict": {}, "payload": Payload(tmp_path / "pwned")}, crafted)
    result = subprocess.run(
        [
            sys.executable,
            "train.py",
            "debug=fast",
            f"hydra.run.dir={tmp_path / 'run'}",
            f"ckpt_path={crafted}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "STANHOP_DEBUG"},
    )
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "pickled" in last
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "pwned").exists()
