"""Observers and ``FakeQuantize`` (the simulation), and the export quantization flow with
its x86 quantizer (real INT8), from torchao's PT2E toolkit (a required dependency): the
one place that imports them."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def _quiet(*loggers: str) -> Iterator[None]:
    """torchao logs a warning for every optional C++ kernel this platform lacks; the
    observers used here are pure Python, so those warnings would only alarm users."""
    saved = [(logging.getLogger(name), logging.getLogger(name).level) for name in loggers]
    for logger, _ in saved:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in saved:
            logger.setLevel(level)


with _quiet("torchao", "torch.utils._pytree"):
    from torchao.quantization.pt2e import (
        FakeQuantize,
        MinMaxObserver,
        MovingAverageMinMaxObserver,
        PerChannelMinMaxObserver,
        UniformQuantizationObserverBase,
    )
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import (
        X86InductorQuantizer,
        get_default_x86_inductor_quantization_config,
    )

BACKEND = "torchao.quantization.pt2e"

__all__ = [
    "BACKEND",
    "FakeQuantize",
    "MinMaxObserver",
    "MovingAverageMinMaxObserver",
    "PerChannelMinMaxObserver",
    "UniformQuantizationObserverBase",
    "X86InductorQuantizer",
    "convert_pt2e",
    "get_default_x86_inductor_quantization_config",
    "prepare_pt2e",
]
