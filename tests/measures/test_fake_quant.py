"""Simulated quantisation against hand computations and known properties."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from stanhop.measures import (
    ESTIMATORS,
    BitWidths,
    SimulatedQuantModel,
    activation_quantizer,
    weight_quantizer,
)
from stanhop.model import build_model


def test_bit_widths_parse_and_ranges():
    bits = BitWidths.parse("W8A6")
    assert (bits.weight, bits.activation, bits.name) == (8, 6, "w8a6")
    assert bits.weight_range == (-127, 127)
    assert bits.activation_range == (0, 63)
    assert BitWidths.parse("w4a8").weight_range == (-7, 7)
    for bad in ("8x8", "W1A8", "W8A17", ""):
        with pytest.raises(ValueError, match="bit widths"):
            BitWidths.parse(bad)


def test_activation_fake_quant_matches_hand_computation():
    x = torch.tensor([-1.0, 0.0, 0.5, 2.0, 0.3])
    quantizer = activation_quantizer(BitWidths(8, 8), "minmax")
    quantizer.disable_fake_quant()
    quantizer(x)  # observe the range [-1, 2]
    quantizer.enable_fake_quant()
    quantizer.disable_observer()
    scale = 3.0 / 255  # (max - min) / (2^8 - 1)
    zero_point = round(1.0 / scale)  # = 85: the code of 0.0
    assert quantizer.scale.item() == pytest.approx(scale)
    assert quantizer.zero_point.item() == zero_point
    codes = np.clip(np.round(x.numpy() / scale) + zero_point, 0, 255)
    expected = (codes - zero_point) * scale
    np.testing.assert_allclose(quantizer(x).numpy(), expected, atol=1e-6)
    # Out-of-range values clip to the ends of the grid.
    assert quantizer(torch.tensor([5.0])).item() == pytest.approx((255 - 85) * scale)


def test_weight_fake_quant_is_symmetric_with_range_127():
    w = torch.tensor([[0.5, -1.27], [0.01, 1.0]])
    quantizer = weight_quantizer(BitWidths(8, 8))
    out = quantizer(w)
    scale = 1.27 / 127
    assert quantizer.scale.item() == pytest.approx(scale)
    assert quantizer.zero_point.item() == 0
    np.testing.assert_allclose(out.numpy(), np.round(w.numpy() / scale) * scale, atol=1e-7)
    per_channel = weight_quantizer(BitWidths(8, 8), per_channel=True)
    per_channel(w)
    np.testing.assert_allclose(per_channel.scale.numpy(), [1.27 / 127, 1.0 / 127], rtol=1e-6)


def test_percentile_observer_matches_numpy_percentiles():
    gen = torch.Generator().manual_seed(0)
    batches = [torch.randn(10_000, generator=gen) for _ in range(3)]
    quantizer = activation_quantizer(BitWidths(8, 8), "percentile", percentile=99.0)
    observer = quantizer.activation_post_process
    for b in batches:
        observer(b)
    lows = [np.percentile(b.numpy(), 1.0) for b in batches]
    highs = [np.percentile(b.numpy(), 99.0) for b in batches]
    assert observer.min_val.item() == pytest.approx(np.mean(lows), abs=2e-3)
    assert observer.max_val.item() == pytest.approx(np.mean(highs), abs=2e-3)


def quantisation_error(x: torch.Tensor, bits: int, estimator: str) -> float:
    quantizer = activation_quantizer(BitWidths(bits, bits), estimator)
    quantizer.activation_post_process(x)
    scale, zero_point = quantizer.calculate_qparams()
    quantizer.scale.copy_(scale)
    quantizer.zero_point.copy_(zero_point)
    quantizer.disable_observer()
    return (quantizer(x) - x).pow(2).mean().item()


def test_mse_estimator_beats_minmax_on_heavy_tailed_data():
    torch.manual_seed(0)
    # Laplace tails stretch a min-max grid far beyond where most values lie.
    x = torch.distributions.Laplace(0.0, 1.0).sample((50_000,))
    assert quantisation_error(x, 4, "mse") < 0.6 * quantisation_error(x, 4, "minmax")
    # The full min-max range is one of the candidates, so it can never do worse.
    assert quantisation_error(x, 8, "mse") <= quantisation_error(x, 8, "minmax")


def calibrated(model, bits, estimator="running_minmax", batches=None):
    gen = torch.Generator().manual_seed(1)
    batches = batches or [torch.randn(8, 24, 3, generator=gen) for _ in range(4)]
    quantized = SimulatedQuantModel(model, bits, estimator)
    quantized.calibrate(batches)
    return quantized


@pytest.mark.parametrize("estimator", sorted(ESTIMATORS))
def test_sixteen_bits_is_float_within_1e3_for_every_estimator(estimator, tiny_spec):
    torch.manual_seed(0)
    model = build_model(tiny_spec).eval()
    x = torch.randn(8, 24, 3)
    # Calibrated on the very inputs, so no value is clipped and only rounding remains.
    quantized = calibrated(model, "W16A16", estimator, batches=[x, x])
    assert (quantized(x) - model(x)).abs().max().item() < 1e-3


def test_fewer_bits_more_error_and_original_untouched(tiny_spec):
    torch.manual_seed(0)
    model = build_model(tiny_spec).eval()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(32, 24, 3)
    reference = model(x)
    errors = {
        bits: (calibrated(model, bits)(x) - reference).pow(2).mean().item()
        for bits in ("W16A16", "W8A8", "W4A4")
    }
    assert errors["W16A16"] < errors["W8A8"] < errors["W4A4"]
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert torch.equal(model(x), reference)


def test_every_quantisation_point_is_covered(tiny_spec):
    model = build_model(tiny_spec)
    quantized = SimulatedQuantModel(model, "W8A8")
    keys = set(quantized.activation_quantizers)
    linears = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    assert {f"{n.replace('.', '/')}:in" for n in linears} <= keys
    assert "encoder/0/block/temporal/normalizer:out" in keys
    assert "encoder/0/block/temporal_res/add:out" in keys
    assert "embed_norm:out" in keys


def test_calibration_reaches_every_quantisation_point(tiny_spec):
    """Every observer sees data: a Linear whose forward the model skips (e.g. projections
    stacked into one product) would keep its default range and warn."""
    quantized = SimulatedQuantModel(build_model(tiny_spec), "W8A8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quantized.calibrate([torch.randn(2, 24, 3)])


def test_uncalibrated_model_refuses_to_run(tiny_spec):
    quantized = SimulatedQuantModel(build_model(tiny_spec), "W8A8")
    with pytest.raises(RuntimeError, match="calibrate"):
        quantized(torch.randn(1, 24, 3))
    with pytest.raises(ValueError, match="at least one batch"):
        quantized.calibrate([])
