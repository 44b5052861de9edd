"""A non-finite loss or gradient stops training in one line that names the step and the
last good checkpoint, before NaNs reach the weights or any checkpoint."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from stanhop.files.checkpoint import load_checkpoint
from stanhop.training.callbacks.finite_loss import NonFiniteLossError, StopOnNonFinite, all_finite
from stanhop.training.train import train

ROOT = Path(__file__).resolve().parents[3]
# Adam moves every weight by about lr per step whatever the gradient, so after a few
# steps of lr 1e30 the activations overflow float32 and the loss turns inf, then NaN.
DIVERGING = ("debug=fast", "logger=none", "optimizer.lr=1e30", "trainer.limit_train_batches=8")


def finite_weights(path: Path) -> bool:
    state = load_checkpoint(path)["state_dict"]
    return all(bool(torch.isfinite(v).all()) for v in state.values() if v.is_floating_point())


def test_a_diverging_run_stops_with_the_step_and_the_last_good_checkpoint(compose_cfg) -> None:
    cfg = compose_cfg(*DIVERGING, "callbacks.step_checkpoint.every_n_train_steps=1")
    with pytest.raises(NonFiniteLossError) as caught:
        train(cfg)
    message = str(caught.value)
    assert "\n" not in message
    found = re.search(r"non-finite (loss|gradient) at step (\d+) \(epoch 0\)", message)
    assert found, message
    step = int(found.group(2))
    last = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    assert f"the last good checkpoint is {last}" in message
    # The checkpoint holds the weights before the failing step, all finite; nothing was
    # written after it (no metrics, no best.ckpt from a NaN validation).
    assert load_checkpoint(last)["global_step"] == step - 1
    assert finite_weights(last)
    assert not (Path(cfg.paths.output_dir) / "metrics.json").exists()
    assert not (Path(cfg.paths.output_dir) / "checkpoints" / "best.ckpt").exists()


def test_without_a_checkpoint_yet_the_message_says_so(compose_cfg) -> None:
    with pytest.raises(NonFiniteLossError, match="no checkpoint was written before it"):
        train(compose_cfg(*DIVERGING))


class FakeStrategy:
    @staticmethod
    def reduce_boolean_decision(decision: bool, all: bool = True) -> bool:
        return decision


class FakeTrainer:
    strategy = FakeStrategy()
    global_step, current_epoch, checkpoint_callbacks = 6, 2, []


def test_a_non_finite_gradient_is_caught_before_the_optimiser_step() -> None:
    model = torch.nn.Linear(3, 1)
    model(torch.ones(1, 3)).sum().backward()
    guard = StopOnNonFinite()
    guard.on_before_optimizer_step(FakeTrainer(), model, None)  # finite: passes
    model.bias.grad[0] = float("inf")
    with pytest.raises(NonFiniteLossError, match=r"non-finite gradient at step 7 \(epoch 2\)"):
        guard.on_before_optimizer_step(FakeTrainer(), model, None)
    with pytest.raises(NonFiniteLossError, match="non-finite loss"):
        guard.on_before_backward(FakeTrainer(), model, torch.tensor(float("nan")))


@pytest.mark.slow  # a run or command end to end: seconds each
def test_cli_reports_a_diverging_run_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "train.py", *DIVERGING, f"hydra.run.dir={tmp_path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: training stopped: non-finite"), last
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float64])
@pytest.mark.parametrize("bad", [None, float("nan"), float("inf"), float("-inf")])
def test_the_one_operator_check_agrees_with_a_check_per_element(dtype, bad) -> None:
    """Tensors of several shapes and dtypes, one element of one of them made non-finite
    (or none): the same answer as isfinite per element, and every tensor left bit for bit
    as it was (the check multiplies by a scale of 1)."""
    generator = torch.Generator().manual_seed(0)
    shapes = [(3,), (4, 5), (2, 3, 7), (1,), (64, 33)]
    tensors = [torch.randn(s, generator=generator).to(dtype) * 1e3 for s in shapes]
    mixed = [*tensors, torch.randn(6, generator=generator)]  # another dtype alongside
    if bad is not None:
        tensors[2][1, 2, 5] = bad
    before = [t.clone() for t in mixed]
    expected = all(bool(t.isfinite().all()) for t in mixed)
    assert all_finite(mixed) is expected is (bad is None)
    bits = {torch.float32: torch.int32, torch.bfloat16: torch.int16, torch.float64: torch.int64}
    for t, b in zip(mixed, before, strict=True):
        assert torch.equal(t.view(bits[t.dtype]), b.view(bits[b.dtype]))
