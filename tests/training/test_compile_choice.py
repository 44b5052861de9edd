"""compile=auto: compile where the run's steps save more than the compile costs, with a
warm kernel cache counting as nearly free; the choice leaves training untouched."""

from __future__ import annotations

import math

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from stanhop.model import build_model
from stanhop.training.compile_choice import (
    COLD_COMPILE_S,
    COMPILE_SAVING,
    WARM_COMPILE_S,
    choose_compile,
    compiled_before,
    decide,
    expected_steps,
    max_time_s,
    remember_compiled,
    shape_key,
    time_eager_step,
)
from stanhop.training.lit import pad_batch
from stanhop.training.train import build_module

# A STanHop-Net small enough to run in milliseconds.
TINY = {"name": "stanhop", "n_series": 3, "in_len": 24, "out_len": 6, "seg_len": 6}
TINY |= {"d_model": 8, "d_ff": 16, "n_heads": 2, "factor": 2, "e_layers": 2, "revin": False}


def test_auto_compiles_exactly_where_the_saving_outweighs_the_compile() -> None:
    step = 0.1
    breakeven = COLD_COMPILE_S / (COMPILE_SAVING * step)
    below = choose_compile("auto", "cpu", int(breakeven * 0.9), step, warm=False)
    above = choose_compile("auto", "cpu", int(breakeven * 1.1), step, warm=False)
    assert not below.enabled and above.enabled
    assert "compile auto: off" in below.reason and "cold cache" in below.reason
    # the same run, with this model's kernels already in the cache
    warm = choose_compile("auto", "cpu", int(breakeven * 0.9), step, warm=True)
    assert warm.enabled and "cache" in warm.reason
    assert not choose_compile(
        "auto", "cpu", int(WARM_COMPILE_S / (COMPILE_SAVING * step)) - 1, step, warm=True
    ).enabled


def test_true_and_false_are_used_as_given_and_other_values_are_refused() -> None:
    assert choose_compile(True, "cpu", 0, None, False).enabled
    assert not choose_compile(False, "cpu", 10**9, 1.0, True).enabled
    assert not choose_compile("auto", "cuda", 10**9, None, False).enabled
    with pytest.raises(ValueError, match="choose auto, true or false"):
        choose_compile("yes", "cpu", 1, 1.0, False)


def test_the_steps_a_run_may_take_follow_every_trainer_limit() -> None:
    def trainer(**kw):
        return OmegaConf.create({"max_epochs": 10, "limit_train_batches": None} | kw)

    assert expected_steps(270, trainer(), 0.1) == 2700
    assert expected_steps(270, trainer(limit_train_batches=100), 0.1) == 1000
    assert expected_steps(270, trainer(limit_train_batches=0.5), 0.1) == 1350
    assert expected_steps(270, trainer(max_steps=500), 0.1) == 500
    # a 60 s cap at 0.1 s a step
    assert expected_steps(270, trainer(max_time="00:00:01:00"), 0.1) == 600
    assert max_time_s("01:02:03:04") == 86400 + 2 * 3600 + 3 * 60 + 4
    assert max_time_s({"minutes": 30}) == 1800
    assert max_time_s(None) is None


def test_the_ledger_remembers_a_model_at_its_shapes_only(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path))
    spec = {"name": "dlinear", "n_series": 3, "in_len": 24, "out_len": 6}
    key = shape_key(spec, 32, "bf16-mixed")
    assert not compiled_before(key)
    remember_compiled(key)
    assert compiled_before(key)
    assert not compiled_before(shape_key(spec, 16, "bf16-mixed"))
    assert not compiled_before(shape_key(spec, 32, "32-true"))
    assert not compiled_before(shape_key({**spec, "in_len": 48}, 32, "bf16-mixed"))


def test_timing_the_eager_step_leaves_random_streams_and_gradients_alone() -> None:
    torch.manual_seed(3)
    model = build_model(TINY)
    state = torch.get_rng_state()
    seconds = time_eager_step(model.eval(), batch=4, precision="bf16-mixed")
    assert seconds > 0
    assert torch.equal(torch.get_rng_state(), state)
    assert all(p.grad is None for p in model.parameters())
    assert not model.training


def test_padding_a_batch_leaves_the_forecasts_of_its_windows_unchanged() -> None:
    """What makes padded evaluation batches exact: every window is forecast on its own."""
    torch.manual_seed(0)
    model = build_model(TINY | {"revin": True}).eval()
    x = torch.randn(5, 24, 3)
    padded = pad_batch(x, 8)
    assert padded.shape == (8, 24, 3) and torch.equal(padded[5:], x[-1:].expand(3, 24, 3))
    with torch.no_grad():
        torch.testing.assert_close(model(padded)[:5], model(x), atol=1e-6, rtol=1e-5)


def test_a_short_run_decides_against_compiling_from_its_own_step_count(compose_cfg) -> None:
    """debug=fast: a few batches, far too few to repay a compile."""
    cfg = compose_cfg("debug=fast", "logger=none")
    dm = instantiate(cfg.data)
    dm.setup()
    module = build_module(cfg, dm)
    choice, key = decide(cfg, module, dm, "bf16-mixed")
    steps = expected_steps(math.ceil(len(dm.datasets["train"]) / dm.batch_size), cfg.trainer, 1.0)
    assert not choice.enabled
    assert choice.reason.startswith(f"compile auto: off (at most {steps:,} steps")
    assert key == shape_key(module.hparams.model, dm.batch_size, "bf16-mixed")
    forced, _ = decide(compose_cfg("debug=fast", "compile=true"), module, dm, "bf16-mixed")
    assert forced.enabled and forced.reason == "compile=true (as configured)"
