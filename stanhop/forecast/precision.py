"""The precisions a forecast runs in: fp32, bf16 autocast, or bf16 where the hardware
runs it natively (see :mod:`stanhop.runtime.precision`)."""

from __future__ import annotations

import torch

from stanhop.forecast.errors import ForecastError
from stanhop.runtime.precision import BF16_MIXED, SHORT_NAMES, resolve_precision

# Forecast precisions: fp32, bf16 autocast, or bf16 where the hardware runs it natively.
PRECISIONS = tuple(SHORT_NAMES)


def check_precision(precision: str) -> None:
    """Raise :class:`ForecastError` unless ``precision`` is one of :data:`PRECISIONS`."""
    if precision not in PRECISIONS:
        raise ForecastError(
            f"precision {precision!r} is not one of {', '.join(PRECISIONS)}; use 32 for "
            "fp32, bf16 for bf16 autocast, auto for bf16 where the hardware runs it natively"
        )


def uses_bf16(precision: str, device: torch.device) -> bool:
    """Whether a model on ``device`` multiplies its matrices under bf16 autocast at
    ``precision`` (``bf16``, or ``auto`` on hardware that multiplies bf16 natively)."""
    return resolve_precision(SHORT_NAMES[precision], device.type)[0] == BF16_MIXED
