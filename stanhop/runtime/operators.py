"""Operators a step dispatches, counted by a ``TorchDispatchMode``: a deterministic
measure of a step's dispatch work, unlike its wall time on a shared machine (the thread
choice of a run and ``bench/step_time.py`` read it).

Every ATen operator that reaches the dispatcher's Python key is counted once, views and
in-place updates included; operators a kernel calls inside itself are not (a fused
optimizer step is one operator however many tensors it updates).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from torch.utils._python_dispatch import TorchDispatchMode


class OperatorCounter(TorchDispatchMode):
    """Counts the ATen operators dispatched while it is active, by name."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.counts[str(func.overloadpacket.__name__)] += 1
        return func(*args, **(kwargs or {}))


def count_operators(fn: Callable[[], Any]) -> Counter[str]:
    """The operators one call of ``fn`` dispatches, by name."""
    with OperatorCounter() as counter:
        fn()
    return counter.counts
