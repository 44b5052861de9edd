"""The measuring functions behind bench/ (what they run, not how fast it is)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from timing import (
    busy_core,
    busy_ratios,
    measure,
    median_ratio,
    median_seconds,
    retrieval_paths,
    step_functions,
)

from stanhop.model import build_model

ROOT = Path(__file__).resolve().parents[2]


def test_timed_functions_take_turns_and_each_gets_its_median() -> None:
    calls: list[str] = []
    fns = {name: (lambda name=name: calls.append(name)) for name in ("a", "b")}
    result = median_seconds(fns, steps=3)
    assert calls == ["a", "b"] * 3
    assert set(result) == {"a", "b"} and all(t >= 0 for t in result.values())


def test_train_step_is_a_real_optimiser_step_and_inference_changes_nothing(tiny_spec) -> None:
    torch.manual_seed(0)
    model = build_model(tiny_spec)
    x, y = torch.randn(4, 24, 3), torch.randn(4, 12, 3)
    train_step, infer = step_functions(model, x, y)
    before = [p.detach().clone() for p in model.parameters()]
    infer()
    assert not model.training
    assert all(torch.equal(a, p) for a, p in zip(before, model.parameters(), strict=True))
    loss0 = torch.nn.functional.mse_loss(model(x), y).item()
    for _ in range(5):
        train_step()
    assert model.training
    assert torch.nn.functional.mse_loss(model(x), y).item() < loss0


def test_measure_times_the_default_path_against_the_fp32_plain_path(tiny_spec) -> None:
    result = measure(
        {**tiny_spec, "hopfield": {"normalizer": "softmax1"}}, batch=2, steps=1, warmup=1
    )
    assert result["retrieval"] == "fused"
    assert result["precision"] in ("bf16-mixed", "32-true")  # auto, by this machine
    for key in ("train_step_s", "infer_s", "reference_train_step_s", "train_speedup"):
        assert result[key] > 0, key
    # The plain path's per-tensor AdamW alone dispatches more operators than the fused one.
    assert 0 < result["train_step_ops"] < result["reference_train_step_ops"]
    assert result["infer_ops"] > 0 and result["train_step_flops"] > 0
    assert result["peak_rss_mib"] >= result["rss_before_mib"] > 0
    entmax = measure(
        {**tiny_spec, "hopfield": {"normalizer": "entmax15"}},
        batch=2,
        steps=1,
        precision="32-true",
        compare_reference=False,
    )
    assert entmax["retrieval"] == "reference" and entmax["precision"] == "32-true"
    assert "train_speedup" not in entmax
    paths = retrieval_paths(build_model({**tiny_spec, "hopfield": {"fused": False}}))
    assert paths and set(paths) == {"reference"}
    with pytest.raises(ValueError, match="choose auto, 32-true or bf16-mixed"):
        measure(tiny_spec, batch=2, precision="16-mixed")


def test_step_time_cli_prints_one_json_object_with_the_settings() -> None:
    args = ["--json", "--steps=1", "--warmup=0", "--series=2", "--in-len=12", "--out-len=6"]
    args += ["--d-model=8", "--d-ff=8", "--heads=2", "--e-layers=1", "--batch=2"]
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "step_time.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["hopfield"] == "outeffhop" and result["series"] == 2 and result["batch"] == 2
    for key in ("train_step_s", "infer_s", "peak_rss_mib", "reference_train_step_s"):
        assert result[key] > 0, key
    assert result["cross_series"] == "full" and result["train_step_ops"] > 0


def test_median_ratio_is_the_median_of_step_by_step_ratios() -> None:
    assert median_ratio([2.0, 9.0, 3.0], [1.0, 3.0, 1.0]) == 3.0


def test_busy_core_spins_on_one_usable_core_and_stops() -> None:
    with busy_core() as core:
        assert core in os.sched_getaffinity(0)
    ratios = busy_ratios(lambda: sum(range(1000)), steps=2, repeats=2)
    assert len(ratios) == 2 and all(r > 0 for r in ratios)
