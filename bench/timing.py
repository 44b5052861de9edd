"""Timing and memory of one model's training step and inference batch, for ``bench/``.

Figures, not tests: :func:`measure` times the same work the trainer does (forward, MSE
loss, backward, Adam step; an inference batch under ``torch.no_grad``) on random data of
the model's shape, counts the operators a step dispatches (stanhop.runtime.operators) and its
floating-point operations, and reads the process's peak resident memory.
"""

from __future__ import annotations

import contextlib
import copy
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from stanhop.model import build_model, use_reference_path
from stanhop.model.hopfield import HopfieldLayer
from stanhop.runtime.operators import count_operators
from stanhop.runtime.precision import BF16_MIXED, FP32, resolve_precision


def peak_rss_mib() -> float:
    """The largest resident set size of this process so far, in MiB (Linux: KiB units)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def turn_times(fns: dict[str, Callable[[], Any]], steps: int) -> dict[str, list[float]]:
    """Wall times of ``steps`` calls of each function, the functions taking turns so that
    a neighbour's load on a shared machine slows them alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(steps):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def median_seconds(fns: dict[str, Callable[[], Any]], steps: int) -> dict[str, float]:
    """Median wall time of ``steps`` calls of each function, taking turns (:func:`turn_times`)."""
    return {name: statistics.median(t) for name, t in turn_times(fns, steps).items()}


def median_ratio(numerator: list[float], denominator: list[float]) -> float:
    """The median of the step-by-step ratios of two functions' turn-taking times: steps
    taken side by side met the same load, so their ratio is steadier than the times."""
    return statistics.median(a / b for a, b in zip(numerator, denominator, strict=True))


@contextlib.contextmanager
def busy_core() -> Iterator[int]:
    """A competing process that spins on one core this process may use (the last one)
    while the context is open; yields that core."""
    core = max(os.sched_getaffinity(0))
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        os.sched_setaffinity(spinner.pid, {core})
        time.sleep(0.2)  # let it start spinning
        yield core
    finally:
        spinner.kill()
        spinner.wait()


def busy_ratios(fn: Callable[[], Any], steps: int, repeats: int) -> list[float]:
    """Median time of ``steps`` calls of ``fn`` with a busy process on one core over the
    median without, measured back to back ``repeats`` times (the two cannot take turns
    step by step: the busy process needs a moment to start and to stop)."""
    ratios = []
    for _ in range(repeats):
        quiet = median_seconds({"fn": fn}, steps)["fn"]
        with busy_core():
            busy = median_seconds({"fn": fn}, steps)["fn"]
        ratios.append(busy / quiet)
    return ratios


def retrieval_paths(model: nn.Module) -> list[str]:
    """The retrieval path of every Hopfield layer of ``model``, in module order."""
    return [m.retrieval for m in model.modules() if isinstance(m, HopfieldLayer)]


def step_functions(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    bf16: bool = False,
    fused: bool = True,
    optimizer: torch.optim.Optimizer | None = None,
    clip_norm: float = 1.0,
) -> tuple[Callable[[], None], Callable[[], None]]:
    """A training step and an inference batch of ``model``, as the trainer runs them with
    the default recipe: forward (under bf16 autocast with ``bf16``, as Lightning's
    ``bf16-mixed``), MSE, backward, gradients clipped to norm ``clip_norm``, an AdamW step
    (the fused kernel with ``fused``, one tensor at a time as the plain path without).
    Another recipe's step (bench/official.py: the authors' Adam) passes its ``optimizer``
    over ``model``'s parameters and its ``clip_norm``."""
    if optimizer is None:
        optimizer = torch.optim.AdamW(
            model.parameters(),
            lr=1e-3,
            weight_decay=1e-2,
            fused=fused,
            foreach=None if fused else False,
        )
    device = x.device.type

    def train_step() -> None:
        model.train()
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
            pred = model(x)
        F.mse_loss(pred.float(), y).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        optimizer.step()
        if x.is_cuda:  # kernels run asynchronously: time them, not their launch
            torch.cuda.synchronize()

    def infer() -> None:
        model.eval()
        with torch.no_grad(), torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
            model(x)
        if x.is_cuda:
            torch.cuda.synchronize()

    return train_step, infer


def measure(
    spec: dict[str, Any],
    batch: int,
    steps: int = 10,
    warmup: int = 2,
    precision: str = "auto",
    compare_reference: bool = True,
    compile_model: bool = False,
    seed: int = 0,
    device: str = "cpu",
    busy_repeats: int = 0,
) -> dict[str, Any]:
    """Median training-step and inference-batch time, and peak memory, of the model that
    ``spec`` (a :func:`build_model` dict) describes, on a random batch of ``batch`` windows.

    The model runs as training runs it by default: at ``precision`` (``auto`` resolves
    as ``trainer.precision=auto`` does, see :mod:`stanhop.runtime.precision`), its fast path
    (stacked projections, cheap dropout masks, the fused kernel where it pays). With
    ``compare_reference`` a copy on the plain path (:func:`use_reference_path`) in fp32 is
    timed in turn with it,
    giving ``reference_*`` times and ``*_speedup``, the median of the step-by-step ratios
    reference / default. ``peak_rss_mib``
    is read after the default path's ``warmup`` steps, before the copy runs;
    ``rss_before_mib`` is the peak before the model was built, so the difference is what
    the model and its steps took. ``busy_repeats`` > 0 adds :func:`busy_ratios` of the
    default path's training step and inference (``busy_train_ratios``,
    ``busy_infer_ratios``).
    """
    resolved, _ = resolve_precision(precision, device)
    if resolved not in (BF16_MIXED, FP32):
        raise ValueError(f"precision {precision!r}: choose auto, 32-true or bf16-mixed")
    torch.manual_seed(seed)
    rss_before = peak_rss_mib()
    model = build_model(spec).to(device)
    # Copied before compiling: the reference runs eagerly.
    reference = copy.deepcopy(model) if compare_reference else None
    if compile_model:
        model.compile()
    x = torch.randn(batch, spec["in_len"], spec["n_series"], device=device)
    y = torch.randn(batch, spec["out_len"], spec["n_series"], device=device)
    train_fns, infer_fns = {}, {}
    train_fns["model"], infer_fns["model"] = step_functions(
        model, x, y, bf16=resolved == BF16_MIXED
    )
    # The first step (and, with compile_model, the compilation) is timed on its own.
    start = time.perf_counter()
    for _ in range(warmup):
        train_fns["model"]()
        infer_fns["model"]()
    warmup_s = time.perf_counter() - start
    result: dict[str, Any] = {
        "warmup_s": warmup_s,
        "parameters": sum(p.numel() for p in model.parameters()),
        "precision": resolved,
        "retrieval": "fused" if "fused" in retrieval_paths(model) else "reference",
        "peak_rss_mib": peak_rss_mib(),
        "rss_before_mib": rss_before,
    }
    result["train_step_ops"] = sum(count_operators(train_fns["model"]).values())
    result["infer_ops"] = sum(count_operators(infer_fns["model"]).values())
    with FlopCounterMode(display=False) as flops:
        train_fns["model"]()
    result["train_step_flops"] = flops.get_total_flops()
    if device == "cuda":
        result["peak_cuda_mib"] = torch.cuda.max_memory_allocated() / 2**20
    if reference is not None:
        use_reference_path(reference)
        train_fns["reference"], infer_fns["reference"] = step_functions(
            reference, x, y, fused=False
        )
        for _ in range(warmup):
            train_fns["reference"]()
            infer_fns["reference"]()
        result["reference_train_step_ops"] = sum(count_operators(train_fns["reference"]).values())
        result["reference_infer_ops"] = sum(count_operators(infer_fns["reference"]).values())
    train_t = turn_times(train_fns, steps)
    infer_t = turn_times(infer_fns, steps)
    train_s = {name: statistics.median(t) for name, t in train_t.items()}
    infer_s = {name: statistics.median(t) for name, t in infer_t.items()}
    result["train_step_s"] = train_s["model"]
    result["infer_s"] = infer_s["model"]
    if "reference" in train_s:
        result["reference_train_step_s"] = train_s["reference"]
        result["reference_infer_s"] = infer_s["reference"]
        result["train_speedup"] = median_ratio(train_t["reference"], train_t["model"])
        result["infer_speedup"] = median_ratio(infer_t["reference"], infer_t["model"])
    if busy_repeats:
        result["busy_train_ratios"] = busy_ratios(train_fns["model"], steps, busy_repeats)
        result["busy_infer_ratios"] = busy_ratios(infer_fns["model"], steps, busy_repeats)
    return result
