"""Post-training integer quantisation, simulated with fake-quantisers on a model copy.

Weights: symmetric signed integers, per tensor (or per output channel), on every
``nn.Linear``. Activations: asymmetric unsigned integers, per tensor, at the input and
output of every ``nn.Linear``, the retrieval weights (each Hopfield normaliser's
output), every LayerNorm output and every residual sum. Ranges are calibrated on a few
batches, then frozen.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from stanhop.measures.bits import BitWidths
from stanhop.measures.observers import activation_quantizer, weight_quantizer
from stanhop.measures.quant_backend import FakeQuantize
from stanhop.model.blocks import ResidualAdd
from stanhop.model.hopfield import use_reference_path
from stanhop.model.normalizers import NORMALIZERS

# Modules whose output is quantised (besides every Linear's input and output).
OUTPUT_QUANTIZED: tuple[type[nn.Module], ...] = (nn.LayerNorm, ResidualAdd, *NORMALIZERS.values())


def _quantize_input(quantizer: FakeQuantize, module: nn.Module, args: tuple) -> tuple:
    return (quantizer(args[0]), *args[1:])


def _quantize_output(
    quantizer: FakeQuantize, module: nn.Module, args: tuple, output: torch.Tensor
) -> torch.Tensor:
    return quantizer(output)


def _observe_input(quantizer: FakeQuantize, module: nn.Module, args: tuple) -> None:
    quantizer.activation_post_process(args[0].detach())


def _observe_output(
    quantizer: FakeQuantize, module: nn.Module, args: tuple, output: torch.Tensor
) -> None:
    quantizer.activation_post_process(output.detach())


def detached_copy(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` in eval mode without the forward hooks others put on it
    (``deepcopy`` copies hooks, so a recorder watching the original would see the copy)."""
    clone = copy.deepcopy(model).eval()
    for module in clone.modules():
        module._forward_hooks.clear()
        module._forward_pre_hooks.clear()
    return clone


class SimulatedQuantModel(nn.Module):
    """A fake-quantised copy of ``model``; the model passed in is never modified.

    Usage: build, :meth:`calibrate` on a few batches (observers record ranges while the
    copy still computes in float), then call it like the model. Its ``model`` attribute is
    the quantised copy, with the same module names as the original.
    """

    def __init__(
        self,
        model: nn.Module,
        bits: BitWidths | str = "W8A8",
        estimator: str = "running_minmax",
        estimator_kwargs: dict[str, Any] | None = None,
        per_channel: bool = False,
    ) -> None:
        super().__init__()
        self.bits = BitWidths.parse(bits) if isinstance(bits, str) else bits
        self.model = detached_copy(model)
        # The plain path: every Linear runs its own forward (the fast path stacks the
        # projections that read one tensor into one product, past their hooks) and the
        # retrieval weights, a quantisation point, are materialised.
        use_reference_path(self.model)
        device = next(self.model.parameters()).device
        self.activation_quantizers = nn.ModuleDict()

        # (module, quantizer, is_input) for every activation quantisation point.
        self._points: list[tuple[nn.Module, FakeQuantize, bool]] = []

        def add_point(module: nn.Module, key: str, is_input: bool) -> None:
            quantizer = activation_quantizer(self.bits, estimator, **(estimator_kwargs or {}))
            self.activation_quantizers[key.replace(".", "/")] = quantizer.to(device)
            self._points.append((module, quantizer, is_input))

        for name, module in self.model.named_modules():
            if isinstance(module, nn.Linear):
                quantizer = weight_quantizer(self.bits, per_channel).to(device)
                with torch.no_grad():
                    module.weight.copy_(quantizer(module.weight))
                add_point(module, f"{name}:in", is_input=True)
            if isinstance(module, (nn.Linear, *OUTPUT_QUANTIZED)):
                add_point(module, f"{name}:out", is_input=False)
        self._handles = self._register(_observe_input, _observe_output)
        self.calibrated = False

    def _register(self, on_input: Callable, on_output: Callable) -> list[RemovableHandle]:
        return [
            module.register_forward_pre_hook(partial(on_input, quantizer))
            if is_input
            else module.register_forward_hook(partial(on_output, quantizer))
            for module, quantizer, is_input in self._points
        ]

    @torch.no_grad()
    def calibrate(
        self,
        batches: Iterable[torch.Tensor | tuple[torch.Tensor, ...]],
        max_batches: int | None = None,
    ) -> int:
        """Record activation ranges on ``batches`` of inputs — each ``x`` (b, in_len, c),
        or a tuple ``(x, future)`` for a model with future features (b, out_len, f) —
        while the copy computes in float, then freeze them and switch quantisation on.
        Returns the number of batches used."""
        if self.calibrated:
            raise RuntimeError("this simulated-quantised model is already calibrated")
        used = 0
        for x in batches:
            if max_batches is not None and used >= max_batches:
                break
            self.model(*(x if isinstance(x, tuple | list) else (x,)))
            used += 1
        if not used:
            raise ValueError("quantisation calibration needs at least one batch of inputs")
        for handle in self._handles:
            handle.remove()
        # The observers are only read here, once: an estimator with a costly search
        # (MSE) runs it once per point instead of once per calibration batch.
        for quantizer in self.activation_quantizers.values():
            scale, zero_point = quantizer.calculate_qparams()
            quantizer.scale.resize_(scale.shape).copy_(scale)
            quantizer.zero_point.resize_(zero_point.shape).copy_(zero_point)
            quantizer.disable_observer()
            quantizer.enable_fake_quant()
        self._handles = self._register(_quantize_input, _quantize_output)
        self.calibrated = True
        return used

    def forward(self, x: torch.Tensor, *future: torch.Tensor) -> torch.Tensor:
        """``x`` [, ``future``]: the wrapped model's inputs → its output, computed on the
        integer grid."""
        if not self.calibrated:
            raise RuntimeError("call calibrate() before running a simulated-quantised model")
        return self.model(x, *future)
