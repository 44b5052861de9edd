"""How many intra-op threads a run uses (``threads=auto``), and why.

A STanHop-Net step is thousands of operators; with several intra-op threads, the threads
meet at a barrier after each one. Where the operators are small (the default run's
width), the barriers cost about what the second thread saves on a quiet machine, and when
another process holds one of the cores, every barrier waits for the descheduled thread:
on a shared 2-core machine the default run's step took 16× as long with 2 threads as with
one (``bench/threads.py``, docs/speed.md). ``auto`` therefore counts the floating-point
operations per operator of the model's forward (on the meta device, without computing
anything) and runs on one thread below :data:`FLOP_PER_OPERATOR_FOR_THREADS`; above it,
on the cores the process may use that other processes leave idle (its CPU affinity less
the machine's one-minute load average), at least one. On a shared 2-core machine the
published ETTh1 width's step, too, took 8× as long with 2 threads as with one.
``OMP_NUM_THREADS`` in the environment, or an integer ``threads``, is used as given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from stanhop.model import HopfieldLayer, build_model
from stanhop.training.operators import count_operators

# Floating-point operations per operator below which a forward runs on one thread. An
# operator of 4 MFLOP takes some 50-100 µs on one core, a few times what a barrier costs
# on a quiet machine; the default run's forward averages 0.7 MFLOP per operator, the
# published ETTh1 width's 27 MFLOP.
FLOP_PER_OPERATOR_FOR_THREADS = 4e6


@dataclass(frozen=True)
class ForwardCost:
    """Floating-point operations and dispatched operators of one training-mode forward."""

    flops: int
    operators: int

    @property
    def flops_per_operator(self) -> float:
        return self.flops / max(self.operators, 1)


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which ``taskset``, cgroups and
    schedulers such as Slurm set), not the cores the machine has."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def idle_cores(cores: int) -> int:
    """Of ``cores`` usable cores, those the machine's one-minute load average leaves idle
    (at least one)."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return max(1, min(cores, round(cores - load)))


def forward_cost(spec: dict[str, Any], batch: int) -> ForwardCost:
    """The cost of a training-mode forward of the model ``spec`` describes on a batch of
    ``batch`` windows, counted on the meta device: shapes only, nothing computed.

    On the retrieval path a CPU takes in training (with dropout, the batched one where the
    layer would fuse; see :func:`stanhop.model.hopfield.retrieve_fused`); dropout is
    torch's on the meta device, which dispatches a different number of operators than
    the CPU's cheaper mask.
    """
    with torch.device("meta"):
        model = build_model(spec).train()
        x = torch.empty(batch, spec["in_len"], spec["n_series"])
    for layer in model.modules():
        if isinstance(layer, HopfieldLayer) and layer.retrieval == "fused":
            layer.retrieval = "batched"
    with FlopCounterMode(display=False) as flops:
        operators = count_operators(lambda: model(x))
    return ForwardCost(flops.get_total_flops(), sum(operators.values()))


def choose_threads(requested: int | str, spec: dict[str, Any], batch: int) -> tuple[int, str]:
    """The intra-op thread count for ``requested`` (``auto`` or a number) and a one-line
    reason."""
    cores = usable_cores()
    if str(requested) != "auto":
        n = int(requested)
        if n < 1:
            raise ValueError(f"threads must be auto or at least 1, got {requested}")
        return n, f"threads {n} (threads, as set; this process may use {cores} cores)"
    env = os.environ.get("OMP_NUM_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env), f"threads {env} (OMP_NUM_THREADS; this process may use {cores} cores)"
    if cores == 1:
        return 1, "threads 1: this process may use one core"
    cost = forward_cost(spec, batch)
    per_op = cost.flops_per_operator / 1e6
    if cost.flops_per_operator < FLOP_PER_OPERATOR_FOR_THREADS:
        return 1, (
            f"threads 1 of the {cores} cores this process may use: a forward is "
            f"{cost.operators:,} small operators ({per_op:.1f} MFLOP each on average), where "
            f"more threads mostly wait for each other (threads={cores} to force)"
        )
    idle = idle_cores(cores)
    return idle, (
        f"threads {idle}: operators of {per_op:.1f} MFLOP on average, and {idle} of the "
        f"{cores} cores this process may use idle (load average "
        f"{os.getloadavg()[0]:.1f}); threads=1 when several runs share the cores"
    )
