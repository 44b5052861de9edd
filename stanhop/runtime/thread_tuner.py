"""The tuner behind ``threads=auto``: chooses between two intra-op thread counts from the
measured times of a run's own training steps, and compares again when steps slow down
(another process took a core) and now and then (it left)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field


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
