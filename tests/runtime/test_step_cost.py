"""What a model's training step costs, for the run's plan: the forward counted on the meta
device as a real forward counts, for every registered variant; the eager step timed
without touching the random streams or gradients."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from stanhop.model import NORMALIZERS, build_model
from stanhop.model.cross_series import CROSS_SERIES
from stanhop.model.dropout import Dropout
from stanhop.runtime.operators import count_operators
from stanhop.runtime.step_cost import forward_cost, time_eager_step

# A STanHop-Net small enough to run in milliseconds.
TINY = {"name": "stanhop", "n_series": 3, "in_len": 24, "out_len": 6, "seg_len": 6}
TINY |= {"d_model": 8, "d_ff": 16, "n_heads": 2, "factor": 2, "e_layers": 2, "revin": False}
DEFAULT_RUN = {"name": "stanhop", "n_series": 7, "in_len": 96, "out_len": 24, "seg_len": 12}
DEFAULT_RUN |= {"d_model": 64, "d_ff": 128, "e_layers": 2, "revin": False}


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


@pytest.mark.parametrize("normalizer", sorted(NORMALIZERS))
@pytest.mark.parametrize("cross_series", sorted(CROSS_SERIES))
def test_every_registered_variant_is_counted_on_the_meta_device(normalizer, cross_series) -> None:
    spec = {**DEFAULT_RUN, "hopfield": {"normalizer": normalizer}, "cross_series": cross_series}
    cost = forward_cost(spec, 4)
    assert cost.flops > 0 and cost.operators > 0


def test_timing_the_eager_step_leaves_random_streams_and_gradients_alone() -> None:
    torch.manual_seed(3)
    model = build_model(TINY)
    state = torch.get_rng_state()
    seconds = time_eager_step(model.eval(), batch=4, precision="bf16-mixed")
    assert seconds > 0
    assert torch.equal(torch.get_rng_state(), state)
    assert all(p.grad is None for p in model.parameters())
    assert not model.training
