"""How many intra-op threads a run uses (``threads=auto``), and why.

A STanHop-Net step is thousands of operators; with several intra-op threads, the threads
meet at a barrier after each one. Whether a second thread pays depends on the width (the
arithmetic per operator) and on the machine at the moment: on a quiet 2-core machine the
default run's step took 0.77× its one-thread time with two, but when another process
holds one of the cores every barrier waits for the descheduled thread, and the same step
took 6× its one-thread time (``bench/threads.py``, docs/speed.md). No rule fixed before
the run is right on both, so ``auto`` measures: :class:`ThreadTuner` times the first
training steps with one thread and with every idle core, keeps the faster, and compares
again when steps slow down (another process took a core) and now and then (it left).

Operators too small for any second thread to pay (:data:`TINY_FLOP_PER_OPERATOR`) run
on one thread without measuring; so does a run on one core. A deterministic or
distributed run keeps one count for the whole run, from the forward's arithmetic per
operator (:data:`FLOP_PER_OPERATOR_FOR_THREADS`) and the idle cores. ``OMP_NUM_THREADS``
in the environment, or an integer ``threads``, is used as given.
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from stanhop.model import HopfieldLayer, build_model
from stanhop.training.operators import count_operators

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
    requested: int | str, spec: dict[str, Any], batch: int, measure: bool = True
) -> ThreadChoice:
    """The intra-op threads for ``requested`` (``auto`` or a number). ``measure=False``
    (a deterministic or distributed run) keeps one count for the whole run."""
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
    cost = forward_cost(spec, batch)
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


@dataclass
class ThreadTuner:
    """Chooses between ``low`` and ``high`` intra-op threads from the measured times of
    training steps.

    Before each step the run asks :meth:`next_threads`; after it, it tells
    :meth:`record` how long the step took. A comparison runs ``block`` steps with each
    count (twice each at the start, after ``warmup`` unmeasured steps) and keeps the
    count of the lower median. Then it watches. When the median of the last ``window``
    steps exceeds ``slow`` times the kept count's median (another process took a core),
    it times the other count against those slow steps. Every ``interval`` steps (a
    process that left) it times the other count, then the kept one again, unless the
    other is clearly slower (``clearly`` times the kept count's median). A count whose
    steps take ``hopeless`` times the other's ends a comparison at once. A comparison
    that keeps the count doubles the interval, up to ``max_interval``, so a steady
    machine is rarely disturbed.
    """

    low: int
    high: int
    block: int = 4
    warmup: int = 2
    window: int = 5
    slow: float = 1.6
    clearly: float = 1.25
    hopeless: float = 3.0
    interval: int = 200
    max_interval: int = 3200
    current: int = 0
    reference: float | None = None
    _plan: list[int | None] = field(default_factory=list)
    _samples: dict[int, list[float]] = field(default_factory=dict)
    _recent: list[float] = field(default_factory=list)
    _since: int = 0
    _step: int = 0
    _base_interval: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.low < self.high:
            raise ValueError(f"choose between two thread counts, got {self.low} and {self.high}")
        self.current = self.current or self.high
        self._base_interval = self.interval
        # None: a warm-up step, run with the start count and not measured.
        self._plan = [None] * self.warmup + self._blocks(
            [self.current, self._other(self.current)] * 2
        )

    def _blocks(self, counts: list[int]) -> list[int]:
        return [n for n in counts for _ in range(self.block)]

    def _other(self, n: int) -> int:
        return self.low if n == self.high else self.high

    def next_threads(self) -> int:
        """The thread count of the next step."""
        planned = self._plan[0] if self._plan else None
        return self.current if planned is None else planned

    def record(self, seconds: float) -> str | None:
        """Note that the step just run took ``seconds``; a line to show when the kept
        count changes, else None."""
        self._step += 1
        if self._plan:
            n = self._plan.pop(0)
            if n is not None:
                self._samples.setdefault(n, []).append(seconds)
            if self._plan and n is not None and self._stop_early(n):
                self._plan = []
            return None if self._plan else self._decide()
        self._since += 1
        self._recent = [*self._recent, seconds][-self.window :]
        slowed = (
            len(self._recent) == self.window
            and statistics.median(self._recent) > self.slow * self.reference
        )
        other = self._other(self.current)
        if slowed:  # the slow steps just seen are the kept count's time now
            self._samples = {self.current: self._recent}
            self._plan = self._blocks([other])
        elif self._since >= self.interval:
            self._samples = {}
            self._plan = self._blocks([other, self.current])
        return None

    def _stop_early(self, n: int) -> bool:
        """Whether the comparison can end after a step with ``n`` threads: ``n`` is
        hopeless (its steps so far take ``hopeless`` times the other count's median, as
        two threads do when another process holds a core), or, after the other count's
        block of a later comparison, clearly slower than the kept count was, so the kept
        count need not be timed again."""
        mine = statistics.median(self._samples[n])
        known = [statistics.median(t) for m, t in self._samples.items() if m != n]
        if n != self.current and self.reference is not None:
            known.append(self.reference)
        if known and mine > self.hopeless * min(known):
            return True
        return (
            n != self.current
            and self.reference is not None
            and len(self._samples[n]) == self.block
            and self.current not in self._samples
            and mine > self.clearly * self.reference
        )

    def _decide(self) -> str | None:
        medians = {n: statistics.median(t) for n, t in self._samples.items()}
        if self.current not in medians:  # stopped early: the kept count stays
            medians[self.current] = self.reference
        best = min(medians, key=medians.get)
        other = self._other(best)
        first = self.reference is None
        changed = best != self.current
        if changed:
            self.interval = self._base_interval
        elif not first:
            self.interval = min(2 * self.interval, self.max_interval)
        self.current, self.reference = best, medians[best]
        self._since, self._recent, self._samples = 0, [], {}
        if not (first or changed):
            return None
        return (
            f"threads {best} from step {self._step}: "
            f"{medians[best]:.3g} s a step against {medians[other]:.3g} s with {other}"
        )
