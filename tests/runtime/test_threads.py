"""The thread count of ``threads=auto``: how the forward cost a run counts and the cores
this process may use choose the count, or the pair of counts the tuner times."""

import os

import pytest

from stanhop.runtime import threads
from stanhop.runtime.step_cost import forward_cost
from stanhop.runtime.threads import (
    FLOP_PER_OPERATOR_FOR_THREADS,
    TINY_FLOP_PER_OPERATOR,
    ThreadChoice,
    choose_threads,
)

DEFAULT_RUN = {"name": "stanhop", "n_series": 7, "in_len": 96, "out_len": 24, "seg_len": 12}
DEFAULT_RUN |= {"d_model": 64, "d_ff": 128, "e_layers": 2, "revin": False}
PUBLISHED = {"name": "stanhop", "n_series": 7, "in_len": 168, "out_len": 24, "seg_len": 6}
PUBLISHED |= {"d_model": 256, "d_ff": 512, "e_layers": 3, "revin": False}


def choose(requested, spec, batch, measure=True) -> ThreadChoice:
    """The thread choice for ``requested`` of a run of the model ``spec`` on ``batch``."""
    return choose_threads(requested, lambda: forward_cost(spec, batch), measure=measure)


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
    choice = choose("auto", DEFAULT_RUN, 32)
    assert (choice.threads, choice.between) == (4, (1, 4))
    assert choice.reason.startswith("threads auto:")
    machine(3.6)  # busy cores: start on one, still compare with all four
    choice = choose("auto", DEFAULT_RUN, 32)
    assert (choice.threads, choice.between) == (1, (1, 4))


def test_tiny_operators_take_one_thread_without_measuring(machine, tiny_spec) -> None:
    assert forward_cost(tiny_spec, 5).flops_per_operator < TINY_FLOP_PER_OPERATOR
    choice = choose("auto", tiny_spec, 5)
    assert (choice.threads, choice.between) == (1, None)
    assert "small operators" in choice.reason


def test_a_run_that_keeps_one_count_takes_it_from_the_operators_size(machine) -> None:
    """Deterministic or distributed runs (measure=False) keep the rule of arithmetic per
    operator: one thread for the default run, the idle cores for the published width."""
    choice = choose("auto", DEFAULT_RUN, 32, measure=False)
    assert (choice.threads, choice.between) == (1, None)


@pytest.mark.parametrize(("load", "expected"), [(0.0, 4), (1.2, 3), (3.6, 1), (9.0, 1)])
def test_large_operators_take_the_idle_usable_cores(machine, load, expected) -> None:
    machine(load)
    assert forward_cost(PUBLISHED, 32).flops_per_operator > FLOP_PER_OPERATOR_FOR_THREADS
    choice = choose("auto", PUBLISHED, 32, measure=False)
    assert choice.threads == expected and choice.reason.startswith(f"threads {expected}:")


def test_a_number_or_omp_num_threads_is_used_as_given(machine, monkeypatch) -> None:
    assert choose(3, DEFAULT_RUN, 32).threads == 3
    assert choose("2", DEFAULT_RUN, 32).threads == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    choice = choose("auto", DEFAULT_RUN, 32)
    assert choice.threads == 2 and "OMP_NUM_THREADS" in choice.reason and choice.between is None
    for wrong in (0, "many"):
        with pytest.raises(ValueError, match=f"^threads={wrong}: give auto or a whole number"):
            choose(wrong, DEFAULT_RUN, 32)
