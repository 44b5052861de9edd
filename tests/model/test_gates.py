"""The gates on a Hopfield layer's retrieval."""

import torch
from torch.testing import assert_close

from stanhop.model.gates import GATES


def test_per_token_gate_starts_at_pi_init_and_scales_each_head() -> None:
    gate = GATES["per_token"](d_model=6, n_heads=3, pi_init=0.25)
    assert_close(torch.sigmoid(gate.bias), torch.full((3,), 0.25))
    with torch.no_grad():
        gate.weight.zero_()
        gate.weight[1, 0] = 1.0
    x = torch.zeros(1, 2, 6)
    x[0, 1, 2] = 4.0  # head 1, first feature, second state pattern
    retrieved = torch.ones(1, 3, 2, 5)
    out = gate(x, retrieved)
    expected = torch.full((1, 3, 2, 5), 0.25)
    expected[0, 1, 1] = torch.sigmoid(torch.logit(torch.tensor(0.25)) + 4.0)
    assert_close(out, expected)
