"""The cross-series stages of a STanHop block: shapes, sizes, cost and the plain path."""

import copy

import pytest
import torch
from torch.testing import assert_close
from torch.utils.flop_counter import FlopCounterMode

from stanhop.model import (
    HopfieldConfig,
    HopfieldLayer,
    STanHopConfig,
    STanHopNet,
    use_reference_path,
)
from stanhop.model.cross_series import (
    CROSS_SERIES,
    ROUTER_HINT_SERIES,
    RouterCrossSeries,
    router_hint,
)

D, HEADS, ROUTERS = 16, 2, 3
SMALL = {"n_series": 5, "in_len": 24, "out_len": 12, "seg_len": 6, "factor": ROUTERS}
SMALL |= {"d_model": D, "d_ff": 32, "n_heads": HEADS, "e_layers": 2, "revin": False}


def build(cross_series: str, **overrides) -> STanHopNet:
    torch.manual_seed(0)
    return STanHopNet(STanHopConfig(**{**SMALL, **overrides}, cross_series=cross_series))


def n_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", sorted(CROSS_SERIES))
@pytest.mark.parametrize("c", [1, 4, 9])
def test_every_stage_maps_series_to_series_of_the_same_shape(name, c) -> None:
    stage = CROSS_SERIES[name](D, HEADS, ROUTERS, HopfieldConfig(), 0.0)
    series = torch.randn(6, c, D)  # (batch × segments, series, d)
    assert stage(series, series).shape == (6, c, D)


@pytest.mark.parametrize("name", sorted(CROSS_SERIES))
def test_model_forecasts_with_every_stage(name) -> None:
    model = build(name)
    assert model(torch.randn(3, 24, 5)).shape == (3, 12, 5)


def test_router_adds_its_routers_and_two_hopfield_layers_to_every_block() -> None:
    """By hand: each router stage has p·d router weights and two Hopfield layers of four
    d × d projections with biases where the full stage has one; a model has e_layers
    encoder blocks and e_layers + 1 decoder blocks."""
    hopfield_layer = 4 * (D * D + D)
    per_block = ROUTERS * D + hopfield_layer
    blocks = SMALL["e_layers"] + SMALL["e_layers"] + 1
    assert n_parameters(build("router")) - n_parameters(build("full")) == blocks * per_block


def test_outlier_taps_see_every_hopfield_layer_of_either_stage() -> None:
    from stanhop.measures.taps import find_taps

    for name, extra in (("full", 0), ("router", 1)):
        model = build(name)
        layers = [n for n, m in model.named_modules() if isinstance(m, HopfieldLayer)]
        tapped = [n for n, (_, kind) in find_taps(model).items() if kind == "hopfield"]
        assert tapped == layers
        blocks = SMALL["e_layers"] + SMALL["e_layers"] + 1
        assert len(layers) == blocks * (3 + extra) + SMALL["e_layers"] + 1


def test_unknown_stage_is_a_one_line_error() -> None:
    with pytest.raises(ValueError, match="router"):
        STanHopConfig(**SMALL, cross_series="nearest")


def flops_of_stage(name: str, c: int) -> int:
    stage = CROSS_SERIES[name](D, HEADS, ROUTERS, HopfieldConfig(), 0.0)
    # FlopCounterMode does not count torch's fused CPU attention kernel: the plain path.
    use_reference_path(stage)
    with FlopCounterMode(display=False) as counter:
        series = torch.randn(4, c, D)
        stage(series, series).sum().backward()
    return counter.get_total_flops()


def test_router_cost_grows_linearly_and_full_cost_quadratically_with_the_series() -> None:
    """Floating-point operations (forward and backward) at 7, 70 and 700 series: equal
    increments for equal steps (linear) for the router, growing ones for ``full``."""
    for name, linear in (("router", True), ("full", False)):
        f7, f70, f133 = (flops_of_stage(name, c) for c in (7, 70, 133))
        first, second = f70 - f7, f133 - f70  # both steps add 63 series
        assert (first == second) == linear, name
    assert flops_of_stage("router", 700) < flops_of_stage("full", 700) / 10


def test_routers_gather_from_every_series() -> None:
    """Changing one series changes what every series retrieves (through the routers)."""
    torch.manual_seed(0)
    stage = RouterCrossSeries(D, HEADS, ROUTERS, HopfieldConfig(), 0.0)
    series = torch.randn(1, 6, D)
    moved = series.clone()
    moved[0, 0] += 1.0
    changed = (stage(series, series) - stage(moved, moved)).abs().amax(-1)[0]
    assert (changed[1:] > 0).all()


@pytest.mark.parametrize("hopfield", ["softmax1", "entmax15"])
def test_router_fast_path_matches_the_plain_path(hopfield) -> None:
    fast = build("router", hopfield=HopfieldConfig(normalizer=hopfield)).eval()
    plain = copy.deepcopy(fast)
    use_reference_path(plain)
    x, y = torch.randn(2, 24, 5), torch.randn(2, 12, 5)
    outs = []
    for model in (fast, plain):
        out = model(x)
        torch.nn.functional.mse_loss(out, y).backward()
        outs.append(out)
    assert_close(outs[0], outs[1], atol=1e-5, rtol=1e-5)
    for p, q in zip(fast.parameters(), plain.parameters(), strict=True):
        assert_close(p.grad, q.grad, atol=1e-5, rtol=1e-5)


def test_many_series_with_the_full_stage_hear_of_the_router() -> None:
    spec = {"name": "stanhop", "n_series": 321, "factor": 10, "cross_series": "full"}
    hint = router_hint(spec)
    assert hint is not None and "model.cross_series=router" in hint
    assert "321² scores" in hint and "2·10·321, 16× fewer" in hint
    assert router_hint({**spec, "cross_series": "router"}) is None
    assert router_hint({**spec, "n_series": ROUTER_HINT_SERIES - 1}) is None
    assert router_hint({"name": "dlinear", "n_series": 321}) is None
