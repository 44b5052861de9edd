"""Forecast precision: bf16 close to fp32, auto following the hardware, and an unknown
precision a one-line error."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from stanhop import Forecaster
from stanhop.forecast import ForecastError


def test_bf16_forecast_is_close_to_fp32_and_auto_follows_the_hardware(
    synthetic_run, reference, monkeypatch
) -> None:
    bf16 = Forecaster.load(synthetic_run.ckpt, precision="bf16").predict(synthetic_run.csv)
    scale = reference.abs().to_numpy().max()
    difference = (bf16 - reference).abs().to_numpy().max()
    # bf16 keeps 8 significant bits: differences of a few parts in a thousand of the data's
    # scale, never zero.
    assert 0 < difference < 0.02 * scale
    for native, expected in ((True, bf16), (False, reference)):
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda n=native: n)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda n=native: n)
        auto = Forecaster.load(synthetic_run.ckpt, precision="auto")
        pd.testing.assert_frame_equal(auto.predict(synthetic_run.csv), expected)


def test_unknown_precision_is_a_forecast_error(synthetic_run) -> None:
    with pytest.raises(ForecastError, match="precision 'fp8' is not one of 32, bf16, auto"):
        Forecaster.load(synthetic_run.ckpt, precision="fp8")
