"""The thread count of ``threads=auto``: the forward cost it reads, and the tuner that
chooses from measured step times."""

import os
import random
import re

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from stanhop.model import NORMALIZERS, build_model
from stanhop.model.cross_series import CROSS_SERIES
from stanhop.model.dropout import Dropout
from stanhop.training import threads
from stanhop.training.operators import count_operators
from stanhop.training.threads import (
    FLOP_PER_OPERATOR_FOR_THREADS,
    TINY_FLOP_PER_OPERATOR,
    ThreadTuner,
    choose_threads,
    forward_cost,
)
from stanhop.training.train import train

DEFAULT_RUN = {"name": "stanhop", "n_series": 7, "in_len": 96, "out_len": 24, "seg_len": 12}
DEFAULT_RUN |= {"d_model": 64, "d_ff": 128, "e_layers": 2, "revin": False}
PUBLISHED = {"name": "stanhop", "n_series": 7, "in_len": 168, "out_len": 24, "seg_len": 6}
PUBLISHED |= {"d_model": 256, "d_ff": 512, "e_layers": 3, "revin": False}


def test_forward_cost_on_the_meta_device_is_that_of_a_real_forward(tiny_spec) -> None:
    """Counted without computing, the FLOPs of a CPU training forward, and its operators
    but for dropout's (torch's dropout on the meta device, the cheaper mask on a CPU)."""
    torch.manual_seed(0)
    model = build_model(tiny_spec).train()
    x = torch.randn(5, 24, 3)
    with FlopCounterMode(display=False) as flops:
        operators = count_operators(lambda: model(x))
    cost = forward_cost(tiny_spec, 5)
    assert cost.flops == flops.get_total_flops() > 0
    # each mask drawn on the CPU dispatches more operators than torch's dropout on meta
    dropout = Dropout(0.2).train()
    on_cpu = sum(count_operators(lambda: dropout(torch.ones(4, 5))).values()) - 1  # ones
    on_meta = sum(count_operators(lambda: dropout(torch.ones(4, 5, device="meta"))).values()) - 1
    masks = operators["random_"]
    expected = cost.operators + masks * (on_cpu - on_meta)
    assert abs(sum(operators.values()) - expected) <= 3 * masks


@pytest.fixture
def machine(monkeypatch):
    """Four usable cores, no OMP_NUM_THREADS, and a load average to set."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "usable_cores", lambda: 4)

    def load(value: float) -> None:
        monkeypatch.setattr(os, "getloadavg", lambda: (value, value, value))

    load(0.0)
    return load


def test_the_default_run_measures_its_threads_starting_on_the_idle_cores(machine) -> None:
    cost = forward_cost(DEFAULT_RUN, 32).flops_per_operator
    assert TINY_FLOP_PER_OPERATOR < cost < FLOP_PER_OPERATOR_FOR_THREADS
    choice = choose_threads("auto", DEFAULT_RUN, 32)
    assert (choice.threads, choice.between) == (4, (1, 4))
    assert choice.reason.startswith("threads auto:")
    machine(3.6)  # busy cores: start on one, still compare with all four
    choice = choose_threads("auto", DEFAULT_RUN, 32)
    assert (choice.threads, choice.between) == (1, (1, 4))


def test_tiny_operators_take_one_thread_without_measuring(machine, tiny_spec) -> None:
    assert forward_cost(tiny_spec, 5).flops_per_operator < TINY_FLOP_PER_OPERATOR
    choice = choose_threads("auto", tiny_spec, 5)
    assert (choice.threads, choice.between) == (1, None)
    assert "small operators" in choice.reason


def test_a_run_that_keeps_one_count_takes_it_from_the_operators_size(machine) -> None:
    """Deterministic or distributed runs (measure=False) keep the rule of arithmetic per
    operator: one thread for the default run, the idle cores for the published width."""
    choice = choose_threads("auto", DEFAULT_RUN, 32, measure=False)
    assert (choice.threads, choice.between) == (1, None)


@pytest.mark.parametrize(("load", "expected"), [(0.0, 4), (1.2, 3), (3.6, 1), (9.0, 1)])
def test_large_operators_take_the_idle_usable_cores(machine, load, expected) -> None:
    machine(load)
    assert forward_cost(PUBLISHED, 32).flops_per_operator > FLOP_PER_OPERATOR_FOR_THREADS
    choice = choose_threads("auto", PUBLISHED, 32, measure=False)
    assert choice.threads == expected and choice.reason.startswith(f"threads {expected}:")


def test_a_number_or_omp_num_threads_is_used_as_given(machine, monkeypatch) -> None:
    assert choose_threads(3, DEFAULT_RUN, 32).threads == 3
    assert choose_threads("2", DEFAULT_RUN, 32).threads == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    choice = choose_threads("auto", DEFAULT_RUN, 32)
    assert choice.threads == 2 and "OMP_NUM_THREADS" in choice.reason and choice.between is None
    for wrong in (0, "many"):
        with pytest.raises(ValueError, match=f"^threads={wrong}: give auto or a whole number"):
            choose_threads(wrong, DEFAULT_RUN, 32)


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


@pytest.mark.parametrize("normalizer", sorted(NORMALIZERS))
@pytest.mark.parametrize("cross_series", sorted(CROSS_SERIES))
def test_every_registered_variant_is_counted_on_the_meta_device(normalizer, cross_series) -> None:
    spec = {**DEFAULT_RUN, "hopfield": {"normalizer": normalizer}, "cross_series": cross_series}
    cost = forward_cost(spec, 4)
    assert cost.flops > 0 and cost.operators > 0


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
