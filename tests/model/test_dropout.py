"""The cheaper dropout mask against the properties of inverted dropout."""

import math

import pytest
import torch
import torch.nn.functional as F

from stanhop.model.dropout import Dropout, drop_fraction, keep_mask


def test_drop_fraction_is_p_rounded_to_sixteen_bits() -> None:
    assert drop_fraction(0.2) == 13107 / 65536
    assert drop_fraction(0.0) == 0.0
    assert abs(drop_fraction(0.1) - 0.1) <= 2**-17


@pytest.mark.parametrize("p", [0.05, 0.2, 0.5])
def test_each_element_and_each_of_the_four_lanes_is_kept_with_probability_one_minus_p(p):
    torch.manual_seed(0)
    n = 1 << 20
    keep = keep_mask(torch.Size([n]), p, torch.device("cpu")).double()
    # Every 64-bit draw feeds four neighbouring elements; each lane must be unbiased.
    lanes = keep.view(-1, 4).mean(0)
    sigma = math.sqrt(p * (1 - p) / (n // 4))
    assert ((lanes - (1 - drop_fraction(p))).abs() < 5 * sigma).all(), lanes
    # Neighbours come from one draw, but their bits do not overlap: no correlation.
    pairs = keep.view(-1, 4)
    corr = torch.corrcoef(pairs.T)
    assert (corr - torch.eye(4)).abs().max() < 5 / math.sqrt(n // 4)


def test_kept_values_are_scaled_by_the_exact_inverse_and_dropped_ones_are_zero() -> None:
    torch.manual_seed(0)
    x = torch.randn(64, 33, requires_grad=True)
    out = Dropout(0.2).train()(x)
    scale = 1 / (1 - drop_fraction(0.2))
    kept = out != 0
    assert torch.equal(out[kept], x[kept] * scale)
    assert 0.7 < kept.double().mean() < 0.9
    out.sum().backward()  # the gradient is the same mask and scale
    assert torch.equal(x.grad, kept.float() * scale)


def test_identity_in_eval_and_at_zero_rate() -> None:
    x = torch.randn(8, 5)
    assert Dropout(0.3).eval()(x) is x
    assert Dropout(0.0).train()(x) is x


def test_masks_follow_the_seed_and_keep_the_dtype() -> None:
    x = torch.randn(4, 100, dtype=torch.bfloat16)
    layer = Dropout(0.5).train()
    torch.manual_seed(3)
    a = layer(x)
    torch.manual_seed(3)
    assert torch.equal(a, layer(x)) and a.dtype == torch.bfloat16
    assert not torch.equal(a, layer(x))


def test_bernoulli_switch_is_torch_dropout() -> None:
    x = torch.randn(16, 16)
    layer = Dropout(0.2).train()
    layer.bernoulli = True
    torch.manual_seed(5)
    ours = layer(x)
    torch.manual_seed(5)
    assert torch.equal(ours, F.dropout(x, 0.2, training=True))


@pytest.mark.parametrize("p", [-0.1, 1.0, 1 - 2**-20])
def test_rates_outside_zero_one_are_rejected(p) -> None:
    with pytest.raises(ValueError, match="dropout must lie in"):
        Dropout(p)


@pytest.mark.slow
def test_compiled_training_draws_each_mask_once_and_deterministically(monkeypatch) -> None:
    """Under torch.compile the mask stays this module's draw (an opaque operator): a
    compiled forward and backward draw exactly the masks eager draws (the compiler may
    order independent draws differently), none again in the backward, and the same seed
    gives the same step."""
    import copy

    import stanhop.model.dropout as dropout_module
    from stanhop.model import build_model

    drawn: list[tuple[int, ...]] = []

    def recording(shape: torch.Size, p: float, device: torch.device) -> torch.Tensor:
        drawn.append(tuple(shape))
        return keep_mask(shape, p, device)

    monkeypatch.setattr(dropout_module, "keep_mask", recording)
    torch.manual_seed(0)
    spec = {"name": "stanhop", "n_series": 2, "in_len": 12, "out_len": 6, "seg_len": 6,
            "d_model": 8, "d_ff": 16, "n_heads": 2, "factor": 2, "e_layers": 1,
            "dropout": 0.3, "revin": False}  # fmt: skip
    eager = build_model(spec)
    compiled = copy.deepcopy(eager)
    compiled.compile()
    x = torch.randn(3, 12, 2)
    eager(x).square().sum().backward()
    eager_draws, drawn[:] = list(drawn), []
    compiled(x)  # compiles
    drawn.clear()
    grads = []
    for _ in range(2):
        torch.manual_seed(1)
        compiled.zero_grad()
        out = compiled(x)
        out.square().sum().backward()
        grads.append([p.grad.clone() for p in compiled.parameters()])
    assert sorted(drawn) == sorted(eager_draws * 2)
    for a, b in zip(*grads, strict=True):
        assert torch.equal(a, b)
