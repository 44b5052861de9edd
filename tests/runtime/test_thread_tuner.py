"""The tuner of ``threads=auto``: it chooses between two thread counts from measured step
times, on simulated machines quiet, busy and changing."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stanhop.runtime.thread_tuner import ThreadTuner


class Machine:
    """Step times of a simulated 2-core machine: ``quiet[n]`` seconds with n threads,
    ``busy[n]`` while another process holds a core; with ``noise``, each step's time
    scaled by a uniform draw from 0.95 to 1.05."""

    def __init__(
        self,
        quiet: dict[int, float],
        busy: dict[int, float] | None = None,
        noise: random.Random | None = None,
    ) -> None:
        self.quiet, self.busy, self.noise = quiet, busy or quiet, noise
        self.loaded = False

    def step(self, n: int) -> float:
        factor = self.noise.uniform(0.95, 1.05) if self.noise else 1.0
        return (self.busy if self.loaded else self.quiet)[n] * factor


def run(tuner: ThreadTuner, machine: Machine, steps: int, load_at=None, quiet_at=None):
    """``steps`` steps; the counts used, the total time and the lines the tuner gave."""
    used, total, lines = [], 0.0, []
    for step in range(steps):
        if step == load_at:
            machine.loaded = True
        if step == quiet_at:
            machine.loaded = False
        n = tuner.next_threads()
        seconds = machine.step(n)
        used.append(n)
        total += seconds
        line = tuner.record(seconds)
        if line:
            lines.append((step, line))
    return used, total, lines


# The default run's step on the 2-core Xeon, quiet (bench/threads.py): 0.101 s with one
# thread, 0.076 s with two; with a busy process on one core 0.10 s and 0.45 s.
QUIET = {1: 0.101, 2: 0.076}
BUSY = {1: 0.101, 2: 0.45}


def test_on_a_quiet_machine_the_faster_count_is_kept_after_the_first_comparison() -> None:
    tuner = ThreadTuner(1, 2)
    used, _, lines = run(tuner, Machine(QUIET), 1000)
    # 2 warm-up steps and two blocks of 4 steps of each count, then 2 threads
    assert used[:18] == [2, 2] + [2] * 4 + [1] * 4 + [2] * 4 + [1] * 4
    assert lines[0] == (17, "threads 2 from step 18: 0.076 s a step against 0.101 s with 1")
    assert tuner.current == 2 and tuner.reference == 0.076
    # later checks try one block of the other count; each that keeps 2 doubles the wait
    assert used.count(1) == 8 + 4 * 2  # 200 steps later, then 400 more
    assert len(lines) == 1


def test_where_one_thread_is_faster_it_is_kept() -> None:
    used, _, lines = run(ThreadTuner(1, 2), Machine({1: 0.02, 2: 0.03}), 300)
    assert used[18:].count(2) == 4 and lines[0][1].startswith("threads 1 from step 18")


def test_a_busy_neighbour_moves_the_run_to_one_thread_within_a_few_steps() -> None:
    tuner = ThreadTuner(1, 2)
    used, _, lines = run(tuner, Machine(QUIET, BUSY), 400, load_at=100)
    # 3 slow steps make the median of the last 5 slow, then one block of one thread
    assert used[100:103] == [2] * 3 and used[103:300] == [1] * 197
    assert lines[1] == (106, "threads 1 from step 107: 0.101 s a step against 0.45 s with 2")


def test_when_the_neighbour_leaves_a_later_check_returns_to_two_threads() -> None:
    tuner = ThreadTuner(1, 2)
    used, _, lines = run(tuner, Machine(QUIET, BUSY), 1000, load_at=100, quiet_at=150)
    back = [step for step, line in lines if line.startswith("threads 2")][-1]
    assert back <= 107 + 200 + 8  # the next check, 200 steps after moving to one thread
    assert used[-1] == 2


@pytest.mark.parametrize("start", [1, 2])
@pytest.mark.parametrize("steps", [736, 5000])
def test_under_steady_load_the_checks_cost_little_against_knowing_the_answer(steps, start) -> None:
    """Busy from the first step: the time over the time with one thread throughout (the
    best fixed choice; two fixed threads take 4.5 times as long) is at most 1.05 for the
    default run's 736 steps and falls with a longer run. A step of two threads at 4.5
    times one thread's time is hopeless: each check gives it one step."""
    used, total, _ = run(ThreadTuner(1, 2, current=start), Machine(BUSY), steps)
    assert total / (steps * BUSY[1]) < (1.05 if steps < 1000 else 1.01)
    warm_and_block = 0 if start == 1 else 2 + 4
    assert used.count(2) == warm_and_block + 1 + (2 if steps < 1000 else 4)


@given(
    fast=st.floats(0.005, 2.0),
    ratio=st.floats(1.15, 20.0),
    faster=st.sampled_from([1, 2]),
    start=st.sampled_from([1, 2]),
    noise_seed=st.integers(0, 2**32 - 1),
)
def test_on_a_steady_machine_the_faster_count_is_found_and_kept(
    fast, ratio, faster, start, noise_seed
) -> None:
    """Whatever the step time, the margin (at least 15 %) and the start, with ±5 % noise
    the tuner keeps the faster count after its first comparison, never changes its mind,
    and spends at most one block of 4 steps on the slower count per later check (two
    checks in 600 steps)."""
    slower = 3 - faster
    tuner = ThreadTuner(1, 2, current=start)
    machine = Machine({faster: fast, slower: fast * ratio}, noise=random.Random(noise_seed))
    used, _, lines = run(tuner, machine, 600)
    assert tuner.current == faster
    assert len(lines) == 1 and lines[0][1].startswith(f"threads {faster} from step")
    first = lines[0][0] + 1  # the steps run before the kept count took over
    assert first <= 18
    assert used[first:].count(slower) <= 4 * 2


def test_two_counts_are_needed() -> None:
    with pytest.raises(ValueError, match="two thread counts"):
        ThreadTuner(2, 2)
