"""The linear path beside STanHop-Net (model.linear_path): alone it is DLinear's forecast,
with the network it adds that forecast to the network's, and ``none`` changes nothing."""

from __future__ import annotations

import pytest
import torch
from hydra.utils import instantiate
from torch.testing import assert_close

from stanhop.model import DLinear, DLinearConfig, STanHopNet, build_model, model_spec
from stanhop.model.linear_path import LINEAR_PATHS, DLinearPath, NoLinearPath
from stanhop.model.targets import select

IN_LEN, OUT_LEN, N_SERIES = 24, 12, 3  # the tiny network's (tests/conftest.py)
# The tiny network's parameters without a linear path.
TINY_PARAMETERS = 33858


def _pair(tiny_config, **overrides) -> tuple[STanHopNet, STanHopNet]:
    """The tiny network without and with the DLinear path, built from the same seed."""
    torch.manual_seed(0)
    plain = STanHopNet(tiny_config(**overrides)).eval()
    torch.manual_seed(0)
    with_path = STanHopNet(tiny_config(linear_path="dlinear", **overrides)).eval()
    return plain, with_path


@pytest.mark.parametrize("targets", [None, [2, 0]])
@pytest.mark.parametrize("revin", [False, True])
def test_the_path_alone_is_dlinears_forecast(tiny_config, revin, targets) -> None:
    """The network's forecast set to zero leaves the path's: DLinear's with the same maps,
    RevIN around it as around the network."""
    net = STanHopNet(tiny_config(linear_path="dlinear", revin=revin, targets=targets)).eval()
    dlinear_cfg = DLinearConfig(N_SERIES, IN_LEN, OUT_LEN, revin=revin, targets=targets)
    dlinear = DLinear(dlinear_cfg).eval()
    with torch.no_grad():
        for name in ("seasonal.weight", "seasonal.bias", "trend.weight", "trend.bias"):
            dlinear.get_parameter(name).copy_(net.linear_path.get_parameter(name))
    x = torch.randn(5, IN_LEN, N_SERIES) * 3 + 1
    with torch.no_grad():
        z, stats = net.revin.normalize(x)
        alone = net.linear_path(z, torch.zeros(5, OUT_LEN, N_SERIES))  # (b, out_len, c)
        alone = select(net.revin.denormalize(alone, stats), targets)
        assert_close(alone, dlinear(x))


@pytest.mark.parametrize("targets", [None, [2, 0]])
@pytest.mark.parametrize("revin", [False, True])
def test_network_with_path_is_network_plus_path(tiny_config, revin, targets) -> None:
    plain, with_path = _pair(tiny_config, revin=revin, targets=targets)
    # Built last, the path leaves the network's initial weights as they are without it.
    backbone = {k: v for k, v in with_path.state_dict().items() if not k.startswith("linear_")}
    assert backbone.keys() == plain.state_dict().keys()
    assert all(torch.equal(v, plain.state_dict()[k]) for k, v in backbone.items())
    x = torch.randn(5, IN_LEN, N_SERIES) * 3 + 1
    with torch.no_grad():
        base = with_path.linear_path.base(with_path.revin.normalize(x)[0])  # (b, out_len, k)
        if revin:
            # Added on the normalised scale, so mapped back by the targets' own spread.
            base = base * select(with_path.revin.std(x), targets)
        assert_close(with_path(x), plain(x) + base)


@pytest.mark.parametrize("targets", [None, [2, 0]])
def test_none_changes_nothing(tiny_config, targets) -> None:
    net = STanHopNet(tiny_config(targets=targets))
    assert tiny_config().linear_path == "none"  # the default, also of older checkpoints
    assert isinstance(net.linear_path, NoLinearPath)
    assert sum(p.numel() for p in net.parameters()) == TINY_PARAMETERS
    assert not any(k.startswith("linear_path") for k in net.state_dict())
    # The network's forecast itself passes through, so its values are the same bits.
    forecast = torch.randn(2, OUT_LEN, N_SERIES)
    assert net.linear_path(torch.randn(2, IN_LEN, N_SERIES), forecast) is forecast
    # Building it draws no random numbers: what is built after it starts as it would.
    state = torch.get_rng_state()
    NoLinearPath(IN_LEN, OUT_LEN, targets)
    assert torch.equal(torch.get_rng_state(), state)


def test_dlinear_path_adds_two_shared_maps_and_no_checkpoint_entry_for_the_targets(
    tiny_config,
) -> None:
    net = STanHopNet(tiny_config(linear_path="dlinear", targets=[2, 0]))
    maps = 2 * (OUT_LEN * IN_LEN + OUT_LEN)  # seasonal and trend, weight and bias
    assert sum(p.numel() for p in net.parameters()) == TINY_PARAMETERS + maps
    path_keys = {k for k in net.state_dict() if k.startswith("linear_path")}
    expected = {f"linear_path.{m}.{p}" for m in ("seasonal", "trend") for p in ("weight", "bias")}
    assert path_keys == expected


@pytest.mark.parametrize("targets", [None, [2, 0], [1]])
@pytest.mark.parametrize("name", sorted(LINEAR_PATHS))
def test_shapes(tiny_config, name, targets) -> None:
    k = N_SERIES if targets is None else len(targets)
    path = LINEAR_PATHS[name](IN_LEN, OUT_LEN, targets)
    x = torch.randn(4, IN_LEN, N_SERIES)
    assert path(x, torch.randn(4, OUT_LEN, N_SERIES)).shape == (4, OUT_LEN, N_SERIES)
    if isinstance(path, DLinearPath):
        assert path.base(x).shape == (4, OUT_LEN, k)
    net = STanHopNet(tiny_config(linear_path=name, targets=targets))
    assert net(x).shape == (4, OUT_LEN, k)


def test_the_base_forecast_reaches_the_targets_only() -> None:
    path = DLinearPath(IN_LEN, OUT_LEN, [2, 0])
    x, forecast = torch.randn(2, IN_LEN, N_SERIES), torch.randn(2, OUT_LEN, N_SERIES)
    with torch.no_grad():
        out = path(x, forecast)
        base = path.base(x)
    assert torch.equal(out[..., 1], forecast[..., 1])  # a covariate: untouched
    assert_close(out[..., [2, 0]], forecast[..., [2, 0]] + base)


@pytest.mark.parametrize("targets", [None, [1]])
def test_gradcheck(tiny_config, targets) -> None:
    """Float64 gradients of the path (input and forecast) and of the tiny network with it
    and RevIN (input), checked against finite differences."""
    path = DLinearPath(8, 3, targets).double()
    x = torch.randn(2, 8, 2, dtype=torch.float64, requires_grad=True)
    forecast = torch.randn(2, 3, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(path, (x, forecast))
    cfg = tiny_config(n_series=2, in_len=12, out_len=6, linear_path="dlinear", revin=True)
    net = STanHopNet(cfg).double().eval()
    x = torch.randn(1, 12, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(net, (x,))


def test_gradients_reach_the_path(tiny_config) -> None:
    net = STanHopNet(tiny_config(linear_path="dlinear", revin=True, targets=[2, 0]))
    net(torch.randn(4, IN_LEN, N_SERIES)).square().mean().backward()
    for name in ("seasonal", "trend"):
        for p in net.linear_path.get_submodule(name).parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0


def test_unknown_path_is_a_one_line_error(tiny_config) -> None:
    with pytest.raises(ValueError) as error:
        tiny_config(linear_path="dlinaer")
    message = str(error.value)
    assert message == "unknown model.linear_path 'dlinaer'; choose one of ['dlinear', 'none']"


def test_hydra_override_builds_the_path(compose_cfg) -> None:
    cfg = compose_cfg("debug=fast", "model.linear_path=dlinear")
    spec = model_spec(instantiate(cfg.model, n_series=3))
    assert spec["linear_path"] == "dlinear"
    assert isinstance(build_model(spec).linear_path, DLinearPath)
    assert compose_cfg("debug=fast").model.linear_path == "none"
