"""A run's plan: its precision, threads and compile choice with the lines a run opens with,
as :func:`plan_run` makes them from the config, the model and the data."""

import math
import os
import re

import pytest
import torch
from hydra.utils import instantiate

from stanhop.model import build_model
from stanhop.runtime import threads
from stanhop.runtime.compile_cache import compiled_before, shape_key
from stanhop.runtime.compile_choice import expected_steps
from stanhop.runtime.plan import decide_compile, plan_run
from stanhop.runtime.precision import resolve_precision
from stanhop.runtime.threads import usable_cores
from stanhop.training.lit import pad_batch
from stanhop.training.train import build_module, train

# A STanHop-Net small enough to run in milliseconds.
TINY = {"name": "stanhop", "n_series": 3, "in_len": 24, "out_len": 6, "seg_len": 6}
TINY |= {"d_model": 8, "d_ff": 16, "n_heads": 2, "factor": 2, "e_layers": 2, "revin": False}
INDUCTOR = (
    "TORCHINDUCTOR_CACHE_DIR",
    "TORCHINDUCTOR_FX_GRAPH_CACHE",
    "TORCHINDUCTOR_AUTOGRAD_CACHE",
)


@pytest.fixture
def keep_threads():
    """torch's intra-op thread count, restored after the test."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def set_up(cfg):
    """The module and set-up datamodule of ``cfg``."""
    dm = instantiate(cfg.data)
    dm.setup()
    return build_module(cfg, dm), dm


def test_a_plan_opens_with_the_precision_threads_and_compile_lines(
    compose_cfg, keep_threads
) -> None:
    """The figures and lines of a run with threads=1 and compile=auto: the precision of
    this machine, one thread as set, and compile off for a run far too short to repay it."""
    cfg = compose_cfg("debug=fast", "logger=none", "threads=1")
    module, dm = set_up(cfg)
    plan = plan_run(cfg, module, dm)
    precision, reason = resolve_precision("auto", "auto")
    assert (plan.precision, plan.precision_reason) == (precision, reason)
    assert (plan.threads.threads, plan.threads.between) == (1, None)
    cores = usable_cores()
    assert plan.threads.reason == f"threads 1 (threads, as set; this process may use {cores} cores)"
    assert torch.get_num_threads() == 1
    steps = expected_steps(math.ceil(len(dm.datasets["train"]) / dm.batch_size), cfg.trainer, 1.0)
    assert not plan.compiling.enabled
    assert plan.compiling.reason.startswith(f"compile auto: off (at most {steps:,} steps")
    assert plan.compile_key == shape_key(module.hparams.model, dm.batch_size, precision)
    assert plan.lines == [reason, plan.threads.reason, plan.compiling.reason]
    assert plan.tuner is None


def test_threads_auto_plans_the_tuner_unless_the_run_keeps_one_count(
    compose_cfg, monkeypatch, keep_threads
) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    monkeypatch.setattr(threads, "TINY_FLOP_PER_OPERATOR", 0.0)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    cfg = compose_cfg("debug=fast", "logger=none", "threads=auto", "compile=false")
    module, dm = set_up(cfg)
    plan = plan_run(cfg, module, dm)
    assert (plan.threads.threads, plan.threads.between) == (2, (1, 2))
    assert torch.get_num_threads() == 2
    tuner = plan.tuner
    assert (tuner.low, tuner.high, tuner.current) == (1, 2, 2)
    steady = compose_cfg("debug=fast", "logger=none", "threads=auto", "trainer.deterministic=true")
    assert plan_run(steady, module, dm).tuner is None


def test_a_compiling_plan_compiles_the_module_and_records_it_once_trained(
    compose_cfg, monkeypatch, tmp_path, keep_threads
) -> None:
    for name in INDUCTOR:  # set first, so that monkeypatch removes them again afterwards
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cfg = compose_cfg("debug=fast", "logger=none", "threads=1", "compile=true")
    module, dm = set_up(cfg)
    plan = plan_run(cfg, module, dm)
    assert plan.compiling.enabled and plan.compiling.reason == "compile=true (as configured)"
    plan.compile(module, dm)
    assert module.model._compiled_call_impl is not None and dm.drop_last
    assert not compiled_before(plan.compile_key)
    plan.finished()
    assert compiled_before(plan.compile_key)


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
    choice, key = decide_compile(cfg, module, dm, "bf16-mixed")
    steps = expected_steps(math.ceil(len(dm.datasets["train"]) / dm.batch_size), cfg.trainer, 1.0)
    assert not choice.enabled
    assert choice.reason.startswith(f"compile auto: off (at most {steps:,} steps")
    assert key == shape_key(module.hparams.model, dm.batch_size, "bf16-mixed")
    forced, _ = decide_compile(compose_cfg("debug=fast", "compile=true"), module, dm, "bf16-mixed")
    assert forced.enabled and forced.reason == "compile=true (as configured)"


@pytest.mark.slow  # a run end to end: seconds
def test_a_run_with_threads_auto_times_its_steps_and_says_what_it_kept(
    compose_cfg, monkeypatch, caplog
) -> None:
    """``train`` with ``threads=auto`` on two usable cores: the opening line, the
    comparison over the first steps, a line naming the kept count, and that count left
    set for what follows training. (debug=fast's operators are below the tiny bound, so
    the bound is lowered here to make the run measure.)"""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    monkeypatch.setattr(threads, "TINY_FLOP_PER_OPERATOR", 0.0)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    cfg = compose_cfg("debug=fast", "logger=none", "trainer.limit_train_batches=24", "threads=auto")
    before = torch.get_num_threads()
    caplog.set_level("INFO")
    try:
        train(cfg, test=False)
        after = torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
    text = caplog.text
    assert "threads auto: the first training steps are timed with 1 and with 2 threads" in text
    kept = re.findall(r"threads ([12]) from step (\d+): [0-9.e-]+ s a step against", text)
    assert kept, text
    # the first comparison ends by step 18; a busy machine may change the count later
    assert int(kept[0][1]) <= 18 and after == int(kept[-1][0])
