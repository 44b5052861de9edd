"""Output folders: runs and multiruns started in the same second never share one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

ROOT = Path(__file__).resolve().parents[2]
# The smallest run that still writes metrics.json and config.yaml.
TINY = [
    "debug=fast",
    "logger=none",
    "trainer.limit_train_batches=1",
    "trainer.limit_val_batches=1",
    "trainer.limit_test_batches=1",
    "callbacks.outliers=null",
    "callbacks.quantization=null",
]


@pytest.mark.slow  # two multiruns of two parallel jobs each (six Python processes)
def test_two_multiruns_started_together_write_four_separate_job_folders(tmp_path: Path) -> None:
    # No hydra.sweep.dir: each multirun picks its folder from the clock, as a user's does.
    command = [
        sys.executable,
        str(ROOT / "train.py"),
        "-m",
        *TINY,
        "seed=1,2",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
    ]
    procs = [
        subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for proc in procs:
        _, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr.decode()[-3000:]

    sweeps = sorted((tmp_path / "multirun").glob("*/*"))
    assert len(sweeps) == 2
    for sweep in sweeps:
        assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["0", "1"]
        for job, seed in (("0", 1), ("1", 2)):
            assert (sweep / job / "metrics.json").is_file()
            assert OmegaConf.load(sweep / job / "config.yaml").seed == seed
