"""DDP on CPU (gloo): two processes of batch 4 train, validate and test like one process
of batch 8, write one set of run files and one wandb run."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# dropout 0: the processes draw different dropout masks than a single process would.
# fp32: in bf16 the matrix products of batches of 4 and of 8 round differently (about
# 2e-5 relative on the metrics), which would hide the 1e-7 that this test checks.
COMMON = ["debug=fast", "model.dropout=0", "trainer.accelerator=cpu", "trainer.precision=32-true"]
# The weights end up about 1e-7 relative apart (the all-reduced gradient is summed in
# another order than one process's): measured at most 1.5e-7 relative apart on float
# metrics, 1e-5 leaves room for other CPUs. Quantisation rounds, so such a difference can
# move one activation of one test sample by a whole integer step: up to 3e-5 measured.
RTOL = 1e-5
QUANT_RTOL = 1e-3


def start(cwd: Path, *overrides: str) -> subprocess.Popen:
    cwd.mkdir(parents=True)
    home = cwd / "home"
    env = {
        **os.environ,
        "WANDB_MODE": "offline",
        "WANDB_DIR": str(home),
        "HOME": str(home),
        "HYDRA_FULL_ERROR": "1",
    }
    return subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), *COMMON, *overrides],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The working directories of a DDP run (2 × batch 4, wandb, the default output
    folder) and a single-process run (batch 8), run side by side."""
    tmp = tmp_path_factory.mktemp("ddp")
    cwds = {"ddp": tmp / "ddp", "single": tmp / "single"}
    procs = {
        "ddp": start(cwds["ddp"], "trainer=ddp", "data.batch_size=4", "logger=wandb"),
        "single": start(
            cwds["single"], "data.batch_size=8", "logger=none", "hydra.run.dir=outputs/run"
        ),
    }
    for name, proc in procs.items():
        _, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"{name}: {stderr[-3000:]}"
    return cwds


def metrics(cwd: Path) -> dict[str, float]:
    (path,) = cwd.rglob("metrics.json")
    return json.loads(path.read_text())


@pytest.mark.slow  # two training runs in subprocesses (three processes), about a minute
def test_ddp_matches_one_process_with_the_whole_batch(runs: dict[str, Path]) -> None:
    ddp, single = metrics(runs["ddp"]), metrics(runs["single"])
    for timing in ("train/fit_seconds", "train/data_wait_share"):
        del ddp[timing], single[timing]
    assert ddp.keys() == single.keys()
    for prefix in ("val/", "test/", "outliers/", "quant/w8a8/"):
        assert any(key.startswith(prefix) for key in ddp), prefix
    far = {
        key: (ddp[key], single[key])
        for key in ddp
        if not math.isclose(
            ddp[key], single[key], rel_tol=QUANT_RTOL if key.startswith("quant/") else RTOL
        )
    }
    assert not far


@pytest.mark.slow  # shares the runs above
def test_ddp_writes_one_run_folder_and_one_wandb_run(runs: dict[str, Path]) -> None:
    cwd = runs["ddp"]
    # The second process is re-launched with the first one's hydra.run.dir and writes none
    # of the run's files.
    (run_dir,) = (cwd / "outputs").glob("*/*")
    run = run_dir.relative_to(cwd)

    def found(name: str) -> list[Path]:
        return sorted(p.relative_to(cwd) for p in cwd.rglob(name) if "wandb" not in p.parts)

    assert found("metrics.json") == [run / "metrics.json"]
    assert found("outliers.csv") == [run / "outliers.csv"]
    assert found("config.yaml") == [run / ".hydra/config.yaml", run / "config.yaml"]
    assert len(list(cwd.rglob("offline-run-*"))) == 1
