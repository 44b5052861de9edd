"""Nothing the user gives as input is ever modified: training, resuming, Plug-and-Play
memory and forecasting leave every input file byte for byte and time stamp as it was."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from stanhop.cli.forecast import main as forecast
from stanhop.data import make_synthetic
from stanhop.training.train import train


def fingerprint(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), stat.st_mtime_ns, stat.st_mode


@pytest.mark.slow  # a run or command end to end: seconds each
def test_training_resuming_and_forecasting_leave_their_inputs_alone(
    compose_cfg, tmp_path: Path
) -> None:
    series, history = tmp_path / "series.csv", tmp_path / "history.csv"
    make_synthetic(n_series=3, n_steps=24 * 30, seed=1).to_csv(series)
    make_synthetic(n_series=3, n_steps=24 * 10, seed=2).to_csv(history)
    run = (
        "debug=fast",
        "logger=none",
        "data=csv",
        f"data.path={series}",
        "memory=plug_and_play",
        "memory.size=4",
        f"memory.source={history}",
    )
    inputs = [series, history]
    before = {p: fingerprint(p) for p in inputs}

    cfg = compose_cfg(*run)
    train(cfg)
    last = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    inputs.append(last)
    before[last] = fingerprint(last)
    # Resuming a finished run reads last.ckpt and writes its own checkpoints elsewhere.
    resumed = compose_cfg(*run, f"ckpt_path={last}", f"paths.output_dir={tmp_path / 'again'}")
    train(resumed)

    ckpt = str(Path(cfg.paths.output_dir) / "checkpoints" / "best.ckpt")
    inputs.append(Path(ckpt))
    before[Path(ckpt)] = fingerprint(Path(ckpt))
    out = tmp_path / "forecast.csv"
    argv = [ckpt, str(series), "-o", str(out), "--memory", str(history), "--quantize", "w8a8"]
    assert forecast(argv) == 0
    assert forecast([*argv, "--force", "--plot", str(tmp_path / "plot.png")]) == 0
    assert {p: fingerprint(p) for p in inputs} == before
