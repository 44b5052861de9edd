"""Targets and past covariates in the models: the output holds the target series only,
and is the selection of the all-series forecast (STanHop-Net) or the plain DLinear
forecast plus a covariate map that starts at zero."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from stanhop.model import build_model
from stanhop.model.targets import check_targets, covariate_indices

DLINEAR = {"name": "dlinear", "n_series": 4, "in_len": 24, "out_len": 12, "kernel_size": 5}


def _pair(spec: dict, targets: list[int]) -> tuple[torch.nn.Module, torch.nn.Module]:
    torch.manual_seed(0)
    full = build_model(spec).eval()
    torch.manual_seed(0)
    chosen = build_model({**spec, "targets": targets}).eval()
    return full, chosen


@pytest.mark.parametrize("revin", [False, True])
def test_stanhop_forecasts_the_targets_as_the_all_series_model_does(tiny_spec, revin) -> None:
    full, chosen = _pair({**tiny_spec, "revin": revin}, [2, 0])
    x = torch.randn(5, tiny_spec["in_len"], tiny_spec["n_series"])
    with torch.no_grad():
        out = chosen(x)
        assert out.shape == (5, tiny_spec["out_len"], 2)
        assert_close(out, full(x)[..., [2, 0]])


@pytest.mark.parametrize(("revin", "affine"), [(False, False), (True, False), (True, True)])
def test_dlinear_with_covariates_starts_from_the_plain_target_forecast(revin, affine) -> None:
    spec = {**DLINEAR, "revin": revin, "revin_affine": affine}
    full, chosen = _pair(spec, [3, 1])
    assert chosen.covariates == [0, 2]
    x = torch.randn(5, 24, 4)
    with torch.no_grad():
        out = chosen(x)
    assert out.shape == (5, 12, 2)
    with torch.no_grad():
        assert_close(out, full(x)[..., [3, 1]])
    # The covariate map is what covariates act through: a hand-set weight adds its product.
    # (out_len * targets, in_len * covariates), rows ordered (step, target)
    weight = torch.randn(12 * 2, 24 * 2)
    mean = x.mean(1, keepdim=True)
    std = torch.sqrt(x.var(1, keepdim=True, unbiased=False) + 1e-5) if revin else None
    z = (x - mean) / std if revin else x
    added = (z[..., [0, 2]].reshape(5, -1) @ weight.T).view(5, 12, 2)
    if revin:
        added = added * std[..., [3, 1]]  # mapped back on the targets' scale
    with torch.no_grad():
        chosen.covariate_map.linear.weight.copy_(weight)
        assert_close(chosen(x), full(x)[..., [3, 1]] + added, rtol=1e-4, atol=1e-4)


def test_dlinear_without_covariates_has_no_covariate_map() -> None:
    assert "covariate_map.linear.weight" not in build_model(DLINEAR).state_dict()
    all_in_order = build_model({**DLINEAR, "targets": [0, 1, 2, 3]})
    assert all_in_order.cfg.targets == [0, 1, 2, 3]
    assert "covariate_map.linear.weight" not in all_in_order.state_dict()


@pytest.mark.parametrize("bad", [[], [0, 0], [3], [-1]])
def test_bad_target_indices_are_one_line_errors(bad) -> None:
    with pytest.raises(ValueError, match=r"^model\.targets"):
        check_targets(bad, 3)
    assert covariate_indices(None, 3) == []
    assert covariate_indices([1], 3) == [0, 2]


def test_stanhop_adds_the_projected_future_to_the_decoder_positions(tiny_spec) -> None:
    # With the projection set to zero, the model is the one without future features;
    # the decoder positions then shift by the projection of each output segment.
    torch.manual_seed(0)
    full = build_model(tiny_spec).eval()
    torch.manual_seed(0)
    with_future = build_model({**tiny_spec, "n_future": 3}).eval()
    x = torch.randn(2, tiny_spec["in_len"], tiny_spec["n_series"])
    future = torch.randn(2, tiny_spec["out_len"], 3)
    with torch.no_grad():
        with_future.future_embed.weight.zero_()
        with_future.future_embed.bias.zero_()
        assert_close(with_future(x, future), full(x))
        with_future.future_embed.bias.fill_(0.5)
        shifted = full.dec_pos.clone()
        full.dec_pos.add_(0.5)
        assert_close(with_future(x, future), full(x))
        full.dec_pos.copy_(shifted)
    with pytest.raises(ValueError, match=r"expected future features of shape \(batch, 12, 3\)"):
        with_future(x)


def test_dlinear_adds_a_linear_map_of_the_future() -> None:
    torch.manual_seed(0)
    plain = build_model(DLINEAR).eval()
    torch.manual_seed(0)
    model = build_model({**DLINEAR, "n_future": 2}).eval()
    x, future = torch.randn(3, 24, 4), torch.randn(3, 12, 2)
    weight = torch.randn(12 * 4, 12 * 2)
    with torch.no_grad():
        assert_close(model(x, future), plain(x))  # the map starts at zero
        model.future_map.linear.weight.copy_(weight)
        added = (future.reshape(3, -1) @ weight.T).view(3, 12, 4)
        assert_close(model(x, future), plain(x) + added, rtol=1e-5, atol=1e-5)
