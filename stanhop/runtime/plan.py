"""How a run runs, planned in one call: :func:`plan_run` chooses the precision, the
intra-op threads and whether to compile, from the cost of this model's steps on this data
(:mod:`stanhop.runtime.step_cost`), each with the line that says why; the
:class:`RunPlan` it returns carries them out."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from omegaconf import DictConfig

from stanhop.runtime.compile_cache import (
    compiled_before,
    enable_compile_caches,
    remember_compiled,
    shape_key,
)
from stanhop.runtime.compile_choice import CompileChoice, choose_compile, expected_steps, run_device
from stanhop.runtime.precision import AUTO, resolve_precision
from stanhop.runtime.step_cost import forward_cost, time_eager_step
from stanhop.runtime.thread_tuner import ThreadTuner
from stanhop.runtime.threads import ThreadChoice, choose_threads


@dataclass(frozen=True)
class RunPlan:
    """A run's precision, threads and compile choice, each with the line that says why,
    and the ledger key of its compiled kernels."""

    precision: str
    precision_reason: str
    threads: ThreadChoice
    compiling: CompileChoice
    compile_key: str
    # What times the first steps to choose the threads, where ``threads=auto`` measures
    # (the run's ``AdaptiveThreads`` callback drives it); None where the count is fixed.
    tuner: ThreadTuner | None

    @property
    def lines(self) -> list[str]:
        """What a run says of how it runs, before it starts."""
        return [self.precision_reason, self.threads.reason, self.compiling.reason]

    def compile(self, module: Any, datamodule: Any) -> str | None:
        """Compile ``module`` (a LightningModule holding ``model``) for the run, where the
        plan says to; the line that says where compiled kernels are cached."""
        if self.compiling.enabled:
            return compile_for_run(module, datamodule)
        return None

    def finished(self) -> None:
        """Record a compiled model in the ledger once its run has trained."""
        if self.compiling.enabled:
            remember_compiled(self.compile_key)


def plan_run(cfg: DictConfig, module: Any, datamodule: Any) -> RunPlan:
    """The plan of the run ``cfg`` describes, for ``module`` over a set-up ``datamodule``.
    Sets torch's intra-op threads to the plan's, since the compile choice times a step
    with them."""
    precision, precision_reason = resolve_precision(
        cfg.trainer.get("precision", AUTO), cfg.trainer.get("accelerator", "auto")
    )
    threads = choose_threads(
        cfg.get("threads", "auto"),
        lambda: forward_cost(module.hparams.model, datamodule.batch_size),
        measure=_one_process(cfg) and not cfg.trainer.get("deterministic"),
    )
    torch.set_num_threads(threads.threads)
    compiling, key = decide_compile(cfg, module, datamodule, precision)
    tuner = (
        None if threads.between is None else ThreadTuner(*threads.between, current=threads.threads)
    )
    return RunPlan(precision, precision_reason, threads, compiling, key, tuner)


def _one_process(cfg: DictConfig) -> bool:
    """Whether the run trains in a single process (not DDP over devices or nodes)."""
    devices = cfg.trainer.get("devices", 1)
    return str(devices) in ("1", "[0]") and int(cfg.trainer.get("num_nodes", 1)) == 1


def decide_compile(
    cfg: Any, module: Any, datamodule: Any, precision: str
) -> tuple[CompileChoice, str]:
    """The compile choice of the run ``cfg`` describes, and its model's ledger key."""
    setting = cfg.get("compile", False)
    key = shape_key(module.hparams.model, datamodule.batch_size, precision)
    device = run_device(cfg.trainer.get("accelerator", "auto"))
    if setting != "auto" or device != "cpu":
        return choose_compile(setting, device, 0, None, False), key
    batches = math.ceil(len(datamodule.datasets["train"]) / datamodule.batch_size)
    step_s = time_eager_step(
        module.model, datamodule.batch_size, precision, getattr(datamodule, "n_future", 0)
    )
    steps = expected_steps(batches, cfg.trainer, step_s)
    return choose_compile(setting, device, steps, step_s, compiled_before(key)), key


def compile_for_run(module: Any, datamodule: Any) -> str:
    """Compile ``module``'s model in place for a run over ``datamodule``, one shape per
    graph: whole training batches only and evaluation batches padded to full size (a
    batch of another size would compile the model again, as long as the first time).
    Compiling in place keeps the parameter names, so a checkpoint loads the same with or
    without it. Returns the line that says where compiled kernels are cached."""
    caches = enable_compile_caches()
    module.model.compile(dynamic=False)
    if len(datamodule.datasets["train"]) >= datamodule.batch_size:
        datamodule.drop_last = True
    module.eval_pad_to = datamodule.eval_batch_size
    return caches
