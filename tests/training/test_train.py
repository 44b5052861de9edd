"""End to end: the real config, composed, shrunk and trained."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from lightning.pytorch.profilers import PassThroughProfiler, SimpleProfiler
from omegaconf import OmegaConf

from stanhop.training.lit import LitForecaster
from stanhop.training.train import data_wait_share, train

ROOT = Path(__file__).resolve().parents[2]


def test_fast_run_writes_metrics_checkpoints_and_config(compose_cfg) -> None:
    cfg = compose_cfg("debug=fast", "logger=csv", "trainer.limit_test_batches=1.0")
    metrics = train(cfg)
    out = Path(cfg.paths.output_dir)
    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk == pytest.approx(metrics)
    for key in ("val/mse", "val/mae", "test/mse", "test/mae", "test/mse_orig", "test/mae_orig"):
        assert math.isfinite(on_disk[key]), key
    assert (out / "checkpoints" / "best.ckpt").is_file()
    assert (out / "checkpoints" / "last.ckpt").is_file()
    assert "${" not in (out / "config.yaml").read_text()  # resolved
    assert (out / "csv" / "metrics.csv").is_file()
    assert 0 <= on_disk["train/data_wait_share"] < 1
    assert "train_dataloader_next" in (out / "fit-profile.txt").read_text()


def test_data_wait_share_is_fetch_time_over_fetch_and_step_time() -> None:
    profiler = SimpleProfiler()
    assert data_wait_share(profiler) is None
    profiler.recorded_durations["[_TrainingEpochLoop].train_dataloader_next"] = [0.5, 1.5]
    profiler.recorded_durations["run_training_batch"] = [3.0, 3.0]
    profiler.recorded_durations["[_EvaluationLoop].val_next"] = [9.0]  # not training
    assert data_wait_share(profiler) == 0.25
    assert data_wait_share(PassThroughProfiler()) is None


@pytest.mark.slow  # a run or command end to end: seconds each
def test_reloaded_checkpoint_predicts_identically_and_reproduces_the_test_metrics(
    compose_cfg,
) -> None:
    cfg = compose_cfg("debug=fast", "logger=none", "trainer.limit_test_batches=1.0")
    metrics = train(cfg)
    ckpt = Path(cfg.paths.output_dir) / "checkpoints" / "best.ckpt"
    loaded = LitForecaster.load_from_checkpoint(ckpt, map_location="cpu").eval()

    # Rebuild the datamodule independently and recompute the test metrics by hand.
    from hydra.utils import instantiate

    dm = instantiate(cfg.data)
    dm.setup()
    assert loaded.hparams.series_names == dm.series_names
    np.testing.assert_array_equal(loaded.scaler.mean, dm.scaler.mean)
    np.testing.assert_array_equal(loaded.scaler.std, dm.scaler.std)
    sq = ab = sq_orig = 0.0
    n = 0
    with torch.no_grad():
        for x, y in dm.test_dataloader():
            pred = loaded(x)
            sq += ((pred - y) ** 2).sum().item()
            ab += (pred - y).abs().sum().item()
            orig = dm.scaler.inverse_transform(pred.numpy()) - dm.scaler.inverse_transform(
                y.numpy()
            )
            sq_orig += float((orig**2).sum())
            n += y.numel()
    assert sq / n == pytest.approx(metrics["test/mse"], rel=1e-4)
    assert ab / n == pytest.approx(metrics["test/mae"], rel=1e-4)
    assert sq_orig / n == pytest.approx(metrics["test/mse_orig"], rel=1e-4)

    again = LitForecaster.load_from_checkpoint(ckpt, map_location="cpu").eval()
    x = next(iter(dm.test_dataloader()))[0]
    with torch.no_grad():
        assert torch.equal(loaded(x), again(x))


def test_csv_data_on_etth1(compose_cfg, shared_csv) -> None:
    cfg = compose_cfg(
        "debug=fast", "logger=none", "data=csv", f"data.path={shared_csv('ETTh1.csv')}"
    )
    metrics = train(cfg)
    assert math.isfinite(metrics["test/mse"])


@pytest.mark.slow  # the published-width model on ETTh1
def test_etth1_benchmark_with_published_settings_through_the_mirror(
    compose_cfg, shared_csv, monkeypatch
):
    monkeypatch.setenv("STANHOP_DATA_MIRROR", str(shared_csv("ETTh1.csv").parent))
    cfg = compose_cfg(
        "experiment=etth1_24",
        "logger=none",
        "callbacks.progress_bar=null",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=2",
        "trainer.limit_val_batches=1",
        "trainer.limit_test_batches=1",
        # calibrating the published-width model (INT8 ranges, intervals on every
        # validation window) is most of the time; both are tested elsewhere
        "callbacks.quantization=null",
        "callbacks.intervals=null",
    )
    metrics = train(cfg)
    assert math.isfinite(metrics["test/mse"])
    assert (Path(cfg.paths.data_dir) / "ETTh1.csv").is_file()


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    return subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_cli_multirun_gives_one_output_dir_per_job(tmp_path: Path) -> None:
    result = run_cli(
        "-m",
        "debug=fast",
        "logger=none",
        "hopfield=softmax,outeffhop",
        f"hydra.sweep.dir={tmp_path}",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    runs = sorted(tmp_path.glob("*/metrics.json"))
    assert len(runs) == 2
    variants = {OmegaConf.load(r.parent / "config.yaml").hopfield.name for r in runs}
    assert variants == {"softmax", "outeffhop"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["data.path={missing}"], "{missing}: file not found"),
        ([], "data.path is required"),
        (
            ["data.path={missing}", "data.split={{train:0.9,val:0.1,test:0.2}}"],
            "ratios must lie in (0, 1) (0 leaves a split out) and sum to at most 1",
        ),
    ],
    ids=["missing-file", "no-path", "bad-split"],
)
@pytest.mark.slow  # a run or command end to end: seconds each
def test_cli_user_errors_are_one_line_with_status_2(tmp_path: Path, overrides, message) -> None:
    missing = tmp_path / "nope.csv"
    args = [o.format(missing=missing) for o in overrides]
    result = run_cli("debug=fast", "logger=none", "data=csv", *args, f"hydra.run.dir={tmp_path}")
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and message.format(missing=missing) in last
    assert "Traceback" not in result.stderr
