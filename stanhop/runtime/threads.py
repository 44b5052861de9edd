"""How many intra-op threads a run uses (``threads=auto``), and why.

A STanHop-Net step is thousands of operators; with several intra-op threads, the threads
meet at a barrier after each one. Whether a second thread pays depends on the width (the
arithmetic per operator) and on the machine at the moment: on a quiet 2-core machine the
default run's step took 0.77× its one-thread time with two, but when another process
holds one of the cores every barrier waits for the descheduled thread, and the same step
took 6× its one-thread time (``bench/threads.py``, docs/speed.md). No rule fixed before
the run is right on both, so ``auto`` measures: the tuner
(:class:`~stanhop.runtime.thread_tuner.ThreadTuner`) times the first training steps with
one thread and with every idle core, keeps the faster, and compares again when steps slow
down (another process took a core) and now and then (it left). The cost of a forward is
the caller's to count (it needs the model): this module reads it as a
:class:`ForwardCost`.

Operators too small for any second thread to pay (:data:`TINY_FLOP_PER_OPERATOR`) run
on one thread without measuring; so does a run on one core. A deterministic or
distributed run keeps one count for the whole run, from the forward's arithmetic per
operator (:data:`FLOP_PER_OPERATOR_FOR_THREADS`) and the idle cores. ``OMP_NUM_THREADS``
in the environment, or an integer ``threads``, is used as given.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

# Floating-point operations per operator below which a run that keeps one thread count
# (deterministic, distributed) runs on one thread. An operator of 4 MFLOP takes some
# 50-100 µs on one core, a few times what a barrier costs on a quiet machine; the default
# run's forward averages 2.8 MFLOP per operator, the published ETTh1 width's 27 MFLOP.
FLOP_PER_OPERATOR_FOR_THREADS = 4e6
# Below this a second thread cannot pay even on a quiet machine (debug=fast's model
# averages 0.006 MFLOP per operator): one thread, without measuring.
TINY_FLOP_PER_OPERATOR = 1e5


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


@dataclass(frozen=True)
class ThreadChoice:
    """The intra-op thread count a run starts with, why, and, where ``auto`` measures,
    the two counts :class:`ThreadTuner` chooses between."""

    threads: int
    reason: str
    between: tuple[int, int] | None = None


def check_threads(requested: object) -> None:
    """Raise a ValueError unless ``requested`` is ``auto`` or a whole number from 1."""
    text = str(requested)
    if text != "auto" and not (text.isdigit() and int(text) >= 1):
        raise ValueError(f"threads={text}: give auto or a whole number of threads, e.g. threads=1")


def choose_threads(
    requested: int | str, cost_of_forward: Callable[[], ForwardCost], measure: bool = True
) -> ThreadChoice:
    """The intra-op threads for ``requested`` (``auto`` or a number), given
    ``cost_of_forward``, which counts the run's training forward (called only where the
    choice depends on it). ``measure=False`` (a deterministic or distributed run) keeps
    one count for the whole run."""
    cores = usable_cores()
    check_threads(requested)
    if str(requested) != "auto":
        n = int(requested)
        return ThreadChoice(n, f"threads {n} (threads, as set; this process may use {cores} cores)")
    env = os.environ.get("OMP_NUM_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return ThreadChoice(
            int(env), f"threads {env} (OMP_NUM_THREADS; this process may use {cores} cores)"
        )
    if cores == 1:
        return ThreadChoice(1, "threads 1: this process may use one core")
    cost = cost_of_forward()
    per_op = cost.flops_per_operator / 1e6
    small = f"a forward is {cost.operators:,} small operators ({per_op:.2g} MFLOP each on average)"
    idle = idle_cores(cores)
    if cost.flops_per_operator < TINY_FLOP_PER_OPERATOR:
        return ThreadChoice(
            1,
            f"threads 1 of the {cores} cores this process may use: {small}, where more "
            f"threads only wait for each other (threads={cores} to force)",
        )
    if measure:
        high = idle if idle > 1 else cores
        start = high if idle > 1 else 1
        return ThreadChoice(
            start,
            f"threads auto: the first training steps are timed with 1 and with {high} "
            f"threads, and the faster is kept (again whenever steps slow down); "
            f"threads=N to fix",
            between=(1, high),
        )
    if cost.flops_per_operator < FLOP_PER_OPERATOR_FOR_THREADS:
        return ThreadChoice(
            1,
            f"threads 1 of the {cores} cores this process may use: {small}, where more "
            f"threads mostly wait for each other (threads={cores} to force)",
        )
    return ThreadChoice(
        idle,
        f"threads {idle}: operators of {per_op:.1f} MFLOP on average, and {idle} of the "
        f"{cores} cores this process may use idle (load average "
        f"{os.getloadavg()[0]:.1f}); threads=1 when several runs share the cores",
    )
