import math

import pytest
import torch
from torch.testing import assert_close

from stanhop.model.hopfield import HopfieldConfig, HopfieldLayer
from stanhop.model.normalizers import (
    NORMALIZERS,
    SHORT_ROW,
    ShortRowSoftmax,
    build_normalizer,
    short_rows,
    softmax1,
)

SUM_TO_ONE = {"softmax", "sparsemax", "entmax15", "entmax"}
SPARSE = {"sparsemax", "entmax15", "entmax"}


@pytest.fixture
def scores() -> torch.Tensor:
    torch.manual_seed(0)
    return 3 * torch.randn(2, 3, 5, 11, dtype=torch.float64)


@pytest.mark.parametrize("name", sorted(NORMALIZERS))
def test_shape_range_and_finite_gradients(name: str, scores: torch.Tensor) -> None:
    norm = build_normalizer(name).double()
    scores = scores.clone().requires_grad_(True)
    weights = norm(scores)
    assert weights.shape == scores.shape
    assert (weights >= 0).all() and (weights <= 1).all()
    row_sums = weights.sum(-1)
    if name in SUM_TO_ONE:
        assert_close(row_sums, torch.ones_like(row_sums))
    else:  # the softmax1 and clipped families may retrieve less than a whole pattern
        assert (row_sums <= 1 + 1e-12).all()
    (weights * torch.randn_like(weights)).sum().backward()
    assert torch.isfinite(scores.grad).all()
    for p in norm.parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all()


@pytest.mark.parametrize("name", sorted(SPARSE))
def test_sparse_normalisers_give_exact_zeros(name: str) -> None:
    scores = torch.tensor([[4.0, 3.5, 0.0, -1.0, -3.0]])
    weights = build_normalizer(name)(scores)
    assert (weights[0, 2:] == 0).all()
    assert (weights[0, :2] > 0).all()


def test_softmax1_is_softmax_with_an_extra_zero_logit(scores: torch.Tensor) -> None:
    padded = torch.cat([scores, torch.zeros_like(scores[..., :1])], dim=-1)
    assert_close(softmax1(scores), torch.softmax(padded, dim=-1)[..., :-1])
    assert (softmax1(scores).sum(-1) < 1).all()


def test_softmax1_matches_its_formula_and_is_stable_at_extremes() -> None:
    x = torch.tensor([[0.3, -1.2, 2.0]], dtype=torch.float64)
    assert_close(softmax1(x), x.exp() / (1 + x.exp().sum(-1, keepdim=True)))
    large = softmax1(torch.tensor([[1e4, 1e4 - 1.0, -1e4]]))
    assert torch.isfinite(large).all()
    assert_close(large.sum(-1), torch.ones(1))
    # Far below zero every weight vanishes: the layer retrieves "nothing".
    tiny = softmax1(torch.full((1, 4), -1e4, requires_grad=True))
    assert (tiny == 0).all()
    tiny.sum().backward()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_softmax1_normaliser_matches_the_formula_in_value_and_gradient(dtype) -> None:
    """The registered normaliser (softmax over a zero-padded row) against the formula of
    :func:`softmax1`, also where the scores are far above or below zero."""
    torch.manual_seed(0)
    scores = 3 * torch.randn(4, 3, 7, 9, dtype=dtype)
    scores[0, 0, 0] += 1e4
    scores[1, 0, 0] -= 1e4
    upstream = torch.randn_like(scores)
    results = []
    for fn in (build_normalizer("softmax1"), softmax1):
        x = scores.clone().requires_grad_(True)
        weights = fn(x)
        (weights * upstream).sum().backward()
        results.append((weights, x.grad))
    assert_close(results[0][0], results[1][0])
    assert_close(results[0][1], results[1][1])


def test_clipped_softmax_matches_hand_computation() -> None:
    gamma, zeta = -0.1, 1.2
    x = torch.tensor([[6.0, 1.0, -3.0]], dtype=torch.float64)
    p = torch.softmax(x, -1)
    expected = ((zeta - gamma) * p + gamma).clamp(0, 1)
    got = build_normalizer("clipped_softmax", gamma=gamma, zeta=zeta)(x)
    assert_close(got, expected)
    assert got[0, 0] == 1.0 and got[0, 2] == 0.0  # both clip bounds hit
    p1 = softmax1(x)
    got1 = build_normalizer("clipped_softmax1", gamma=gamma, zeta=zeta)(x)
    assert_close(got1, ((zeta - gamma) * p1 + gamma).clamp(0, 1))


def test_learnable_entmax_starts_at_alpha_init_and_matches_exact_entmax15(scores) -> None:
    norm = build_normalizer("entmax", alpha_init=1.5, n_iter=60).double()
    assert math.isclose(norm.alpha.item(), 1.5, rel_tol=1e-9)
    assert_close(norm(scores), build_normalizer("entmax15")(scores), atol=1e-6, rtol=1e-5)


def test_learnable_entmax_alpha_stays_in_open_interval() -> None:
    norm = build_normalizer("entmax")
    with torch.no_grad():
        norm.alpha_logit.fill_(50.0)
    assert 1.0 < norm.alpha.item() <= 2.0
    with pytest.raises(ValueError, match="alpha_init"):
        build_normalizer("entmax", alpha_init=2.5)


def test_unknown_normaliser_lists_the_valid_names() -> None:
    with pytest.raises(ValueError, match="softmax1"):
        build_normalizer("softmax2")


def test_sparsemax_matches_a_hand_computed_projection() -> None:
    # Two entries above the threshold τ = (4 + 3.5 − 1) / 2 = 3.25: weights z − τ.
    weights = build_normalizer("sparsemax")(torch.tensor([[4.0, 3.5, 0.0, -1.0]]))
    assert_close(weights, torch.tensor([[0.75, 0.25, 0.0, 0.0]]))


def test_learnable_entmax_iteration_count_is_a_config_value(scores: torch.Tensor) -> None:
    exact = build_normalizer("entmax15")(scores)
    errors = [
        (build_normalizer("entmax", n_iter=n).double()(scores) - exact).abs().max().item()
        for n in (2, 8, 40)
    ]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 1e-9
    layer = HopfieldLayer(
        8, 2, HopfieldConfig(normalizer="entmax", normalizer_kwargs={"n_iter": 7})
    )
    assert layer.normalizer.n_iter == 7
    with pytest.raises(ValueError, match="n_iter"):
        build_normalizer("entmax", n_iter=0)


@pytest.mark.parametrize("one", [False, True])
def test_short_row_softmax_gradient_matches_finite_differences(one: bool) -> None:
    torch.manual_seed(0)
    scores = (3 * torch.randn(3, 4, 7, dtype=torch.float64)).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: ShortRowSoftmax.apply(x, one), (scores,))


@pytest.mark.parametrize("name", ["softmax", "softmax1"])
@pytest.mark.parametrize("m", [1, 7, SHORT_ROW - 2, SHORT_ROW - 1, SHORT_ROW, SHORT_ROW + 5])
def test_short_and_long_rows_give_the_formula_in_value_and_gradient(name: str, m: int) -> None:
    """Rows on either side of SHORT_ROW (one path each) against the textbook formula:
    softmax over the row, with one extra zero logit for softmax₁; a row far above zero and
    one far below included."""
    torch.manual_seed(m)
    scores = 3 * torch.randn(5, 6, m, dtype=torch.float64)
    scores[0, 0] += 1e4
    scores[1, 0] -= 1e4
    one = name == "softmax1"
    padded = torch.cat([scores, torch.zeros_like(scores[..., :1])], -1) if one else scores
    upstream = torch.randn_like(scores)
    x = scores.clone().requires_grad_(True)
    reference = torch.softmax(padded.requires_grad_(True), -1)[..., :m]
    (reference * upstream).sum().backward()
    weights = build_normalizer(name)(x)
    (weights * upstream).sum().backward()
    assert short_rows(x, int(one)) == (m + one < SHORT_ROW)
    assert_close(weights, reference.detach())
    assert_close(x.grad, padded.grad[..., :m])
