"""The thread count of ``threads=auto`` and the forward cost it reads."""

import os

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from stanhop.model import NORMALIZERS, build_model
from stanhop.model.cross_series import CROSS_SERIES
from stanhop.training import threads
from stanhop.training.operators import count_operators
from stanhop.training.threads import FLOP_PER_OPERATOR_FOR_THREADS, choose_threads, forward_cost

DEFAULT_RUN = {"name": "stanhop", "n_series": 7, "in_len": 96, "out_len": 24, "seg_len": 12}
PUBLISHED = {"name": "stanhop", "n_series": 7, "in_len": 168, "out_len": 24, "seg_len": 6}
PUBLISHED |= {"d_model": 256, "d_ff": 512, "e_layers": 3}


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
    dropouts = operators["scaled_keep_mask"]
    assert abs(sum(operators.values()) - cost.operators) <= 3 * dropouts


@pytest.fixture
def machine(monkeypatch):
    """Four usable cores, no OMP_NUM_THREADS, and a load average to set."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "usable_cores", lambda: 4)

    def load(value: float) -> None:
        monkeypatch.setattr(os, "getloadavg", lambda: (value, value, value))

    load(0.0)
    return load


def test_the_default_run_takes_one_thread(machine) -> None:
    assert forward_cost(DEFAULT_RUN, 32).flops_per_operator < FLOP_PER_OPERATOR_FOR_THREADS
    n, reason = choose_threads("auto", DEFAULT_RUN, 32)
    assert n == 1 and "threads 1" in reason and "small operators" in reason


@pytest.mark.parametrize(("load", "expected"), [(0.0, 4), (1.2, 3), (3.6, 1), (9.0, 1)])
def test_large_operators_take_the_idle_usable_cores(machine, load, expected) -> None:
    machine(load)
    assert forward_cost(PUBLISHED, 32).flops_per_operator > FLOP_PER_OPERATOR_FOR_THREADS
    n, reason = choose_threads("auto", PUBLISHED, 32)
    assert n == expected and reason.startswith(f"threads {expected}:")


def test_a_number_or_omp_num_threads_is_used_as_given(machine, monkeypatch) -> None:
    assert choose_threads(3, DEFAULT_RUN, 32)[0] == 3
    assert choose_threads("2", DEFAULT_RUN, 32)[0] == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    n, reason = choose_threads("auto", DEFAULT_RUN, 32)
    assert n == 2 and "OMP_NUM_THREADS" in reason
    with pytest.raises(ValueError, match="at least 1"):
        choose_threads(0, DEFAULT_RUN, 32)


@pytest.mark.parametrize("normalizer", sorted(NORMALIZERS))
@pytest.mark.parametrize("cross_series", sorted(CROSS_SERIES))
def test_every_registered_variant_is_counted_on_the_meta_device(normalizer, cross_series) -> None:
    spec = {**DEFAULT_RUN, "hopfield": {"normalizer": normalizer}, "cross_series": cross_series}
    cost = forward_cost(spec, 4)
    assert cost.flops > 0 and cost.operators > 0
