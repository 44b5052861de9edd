"""Reversible instance normalisation: statistics per window and series, exact round trip,
and the same forecast with and without it for a model that forecasts the normalised
scale's identity."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from stanhop.model import build_model
from stanhop.model.revin import NoRevIN, RevIN


@pytest.mark.parametrize("affine", [False, True])
def test_normalised_windows_have_zero_mean_unit_spread_per_series(affine) -> None:
    torch.manual_seed(0)
    x = torch.randn(4, 50, 3, dtype=torch.float64) * torch.tensor([1.0, 30.0, 1e-3]) + 7.0
    revin = RevIN(3, affine=affine).double()
    z, (mean, std) = revin.normalize(x)
    assert_close(mean, x.mean(dim=1, keepdim=True))
    assert_close(std**2, x.var(dim=1, keepdim=True, unbiased=False) + revin.eps)
    if not affine:
        assert_close(z.mean(dim=1), torch.zeros(4, 3, dtype=torch.float64))
        # eps shrinks the spread a little, most for the third series (variance ~1e-6)
        var = x.var(dim=1, unbiased=False)
        assert_close(z.std(dim=1, unbiased=False), torch.sqrt(var / (var + revin.eps)))


@pytest.mark.parametrize("affine", [False, True])
def test_a_model_returning_its_normalised_input_gives_back_the_raw_window(affine) -> None:
    torch.manual_seed(1)
    x = torch.randn(2, 24, 4, dtype=torch.float64) * 100 + torch.arange(4) * 1e3
    revin = RevIN(4, affine=affine).double()
    if affine:
        with torch.no_grad():
            revin.weight.copy_(torch.tensor([0.5, 2.0, -1.5, 3.0]))
            revin.bias.copy_(torch.tensor([0.1, -2.0, 0.0, 5.0]))
    z, stats = revin.normalize(x)
    assert_close(revin.denormalize(z, stats), x, rtol=1e-12, atol=1e-9)


def test_a_constant_series_is_forecast_as_its_constant() -> None:
    x = torch.full((1, 10, 2), 3.5)
    revin = RevIN(2)
    z, stats = revin.normalize(x)
    assert torch.equal(z, torch.zeros_like(z))
    assert_close(revin.denormalize(z[:, :3], stats), torch.full((1, 3, 2), 3.5))


def test_without_revin_windows_pass_through_and_no_parameters_are_added() -> None:
    x = torch.randn(2, 5, 3)
    z, stats = NoRevIN().normalize(x)
    assert z is x and NoRevIN().denormalize(z, stats) is x
    spec = {"name": "dlinear", "n_series": 3, "in_len": 24, "out_len": 6}
    plain = build_model(spec)
    with_revin = build_model(spec | {"revin": True})
    assert plain.state_dict().keys() == with_revin.state_dict().keys()
    affine = build_model(spec | {"revin": True, "revin_affine": True})
    assert set(affine.state_dict()) - set(plain.state_dict()) == {"revin.weight", "revin.bias"}


@pytest.mark.parametrize("name", ["dlinear", "stanhop"])
def test_a_revin_model_forecasts_a_shifted_and_scaled_window_shifted_and_scaled(name) -> None:
    """With instance norm, a forecast follows an affine change of units of its input
    : f(a·x + b) = a·f(x) + b per series (a > 0), up to the eps added to the variance
    (relative 1e-5 here)."""
    torch.manual_seed(2)
    spec = {"name": name, "n_series": 3, "in_len": 24, "out_len": 12, "revin": True}
    if name == "stanhop":
        spec |= {"seg_len": 6, "d_model": 16, "d_ff": 32, "n_heads": 2, "factor": 3, "e_layers": 2}
    model = build_model(spec).double().eval()
    x = torch.randn(2, 24, 3, dtype=torch.float64)
    a = torch.tensor([2.0, 1e3, 0.5], dtype=torch.float64)
    b = torch.tensor([-5.0, 1e4, 0.3], dtype=torch.float64)
    with torch.no_grad():
        assert_close((model(x * a + b) - b) / a, model(x), rtol=1e-4, atol=1e-4)
