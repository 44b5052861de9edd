"""Range estimators for activations, chosen by name.

``running_minmax`` (the default), ``minmax`` and the fake-quantiser itself come from
the quantisation backend (torchao PT2E). The percentile, latest-batch
and MSE estimators of Bondarenko et al. (2023) are not in torchao, so they are
written here on the backend's observer base class, which supplies the scale/zero-point
arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from stanhop.measures.bits import BitWidths
from stanhop.measures.quant_backend import (
    FakeQuantize,
    MinMaxObserver,
    MovingAverageMinMaxObserver,
    PerChannelMinMaxObserver,
    UniformQuantizationObserverBase,
)


class CurrentMinMaxObserver(MinMaxObserver):
    """The range of the latest batch only: after calibration, that of the last batch."""

    def forward(self, x_orig: torch.Tensor) -> torch.Tensor:
        self.reset_min_max_vals()
        return super().forward(x_orig)


class PercentileObserver(UniformQuantizationObserverBase):
    """Range from the ``100 - p`` and ``p`` percentiles of each batch, averaged over
    batches; ignores the rarest values instead of stretching the grid to fit them."""

    def __init__(self, percentile: float = 99.999, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 50.0 < percentile <= 100.0:
            raise ValueError(f"percentile must lie in (50, 100], got {percentile}")
        self.percentile = percentile
        self.register_buffer("min_val", torch.tensor(0.0))
        self.register_buffer("max_val", torch.tensor(0.0))
        self.register_buffer("batches", torch.tensor(0))

    def forward(self, x_orig: torch.Tensor) -> torch.Tensor:
        x = x_orig.detach().float().flatten()
        n = x.numel()
        # kthvalue instead of torch.quantile, which refuses more than 2**24 elements.
        high = round(self.percentile / 100 * (n - 1)) + 1
        low = n + 1 - high
        lo, hi = torch.kthvalue(x, low).values, torch.kthvalue(x, high).values
        seen = self.batches.item()
        self.min_val.copy_((self.min_val * seen + lo) / (seen + 1))
        self.max_val.copy_((self.max_val * seen + hi) / (seen + 1))
        self.batches += 1
        return x_orig

    @torch.jit.export
    def calculate_qparams(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self._calculate_qparams(self.min_val, self.max_val)


class MSEObserver(UniformQuantizationObserverBase):
    """The range that minimises the mean squared quantisation error of the calibration
    data: the min-max range shrunk by the best of ``n_grid`` factors in (0, 1].

    The error is estimated in bounded memory from two strata: the ``n_extremes`` values
    of largest magnitude, exactly (they decide the clipping error, and a random sample
    would miss them), and a uniform random sample of ``sample_size`` values standing for
    all the others.
    """

    def __init__(
        self, n_grid: int = 50, sample_size: int = 8192, n_extremes: int = 256, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.n_grid = n_grid
        self.sample_size = sample_size
        self.n_extremes = n_extremes
        self.register_buffer("min_val", torch.tensor(float("inf")))
        self.register_buffer("max_val", torch.tensor(float("-inf")))
        self.register_buffer("sample", torch.empty(0))
        self.register_buffer("keys", torch.empty(0))
        self.register_buffer("extremes", torch.empty(0))
        self.register_buffer("seen", torch.tensor(0, dtype=torch.int64))

    def forward(self, x_orig: torch.Tensor) -> torch.Tensor:
        x = x_orig.detach().float().flatten()
        self.min_val = torch.minimum(self.min_val, x.min())
        self.max_val = torch.maximum(self.max_val, x.max())
        self.seen += x.numel()
        # Keeping the values with the smallest random keys is a uniform sample without
        # replacement of everything seen so far.
        keys = torch.cat([self.keys, torch.rand(x.numel(), device=x.device)])
        values = torch.cat([self.sample, x])
        keep = keys.topk(min(self.sample_size, keys.numel()), largest=False).indices
        self.keys, self.sample = keys[keep], values[keep]
        extremes = torch.cat([self.extremes, x])
        top = extremes.abs().topk(min(self.n_extremes, extremes.numel())).indices
        self.extremes = extremes[top]
        return x_orig

    def _squared_errors(
        self, values: torch.Tensor, scales: torch.Tensor, zero_points: torch.Tensor
    ) -> torch.Tensor:
        """(n_grid,) summed squared error of ``values`` on each candidate grid — candidate
        i is "channel" i of a per-channel fake-quantisation of the repeated values."""
        repeated = values.expand(self.n_grid, -1)
        quantized = torch.fake_quantize_per_channel_affine(
            repeated, scales, zero_points.int(), 0, self.quant_min, self.quant_max
        )
        return (quantized - repeated).pow(2).sum(dim=1)

    @torch.jit.export
    def calculate_qparams(self) -> tuple[torch.Tensor, torch.Tensor]:
        low, high = self.min_val.clamp(max=0), self.max_val.clamp(min=0)
        factors = torch.linspace(1.0 / self.n_grid, 1.0, self.n_grid, device=low.device)
        scales, zero_points = self._calculate_qparams(factors * low, factors * high)
        seen = float(self.seen)
        others = max(seen - self.extremes.numel(), 0.0)
        errors = self._squared_errors(self.extremes, scales, zero_points) + self._squared_errors(
            self.sample, scales, zero_points
        ) * (others / max(self.sample.numel(), 1))
        best = int(errors.argmin())
        return self._calculate_qparams(factors[best] * low, factors[best] * high)


ObserverSpec = tuple[type[UniformQuantizationObserverBase], dict[str, Any]]


def running_minmax(momentum: float = 0.9) -> ObserverSpec:
    """Exponential moving average of each batch's min and max (momentum 0.9)."""
    return MovingAverageMinMaxObserver, {"averaging_constant": 1.0 - momentum}


def minmax() -> ObserverSpec:
    """Smallest and largest value over every calibration batch."""
    return MinMaxObserver, {}


def current_minmax() -> ObserverSpec:
    """Min and max of the latest calibration batch."""
    return CurrentMinMaxObserver, {}


def percentile(percentile: float = 99.999) -> ObserverSpec:
    """Batch-averaged percentiles."""
    return PercentileObserver, {"percentile": percentile}


def mse(n_grid: int = 50, sample_size: int = 8192, n_extremes: int = 256) -> ObserverSpec:
    """Range minimising the quantisation MSE of the calibration data."""
    return MSEObserver, {"n_grid": n_grid, "sample_size": sample_size, "n_extremes": n_extremes}


def activation_quantizer(
    bits: BitWidths, estimator: str = "running_minmax", **estimator_kwargs: Any
) -> FakeQuantize:
    """Asymmetric unsigned per-tensor fake-quantiser with the named range estimator."""
    if estimator not in ESTIMATORS:
        raise ValueError(
            f"unknown range estimator {estimator!r}; choose one of {sorted(ESTIMATORS)}"
        )
    observer, kwargs = ESTIMATORS[estimator](**estimator_kwargs)
    low, high = bits.activation_range
    return FakeQuantize(
        observer=observer,
        quant_min=low,
        quant_max=high,
        dtype=torch.quint8 if bits.activation <= 8 else torch.int32,
        qscheme=torch.per_tensor_affine,
        **kwargs,
    )


def weight_quantizer(bits: BitWidths, per_channel: bool = False) -> FakeQuantize:
    """Symmetric signed fake-quantiser over the weight's min-max range, per tensor or per
    output channel."""
    low, high = bits.weight_range
    observer, qscheme, extra = (
        (PerChannelMinMaxObserver, torch.per_channel_symmetric, {"ch_axis": 0})
        if per_channel
        else (MinMaxObserver, torch.per_tensor_symmetric, {})
    )
    return FakeQuantize(
        observer=observer,
        quant_min=low,
        quant_max=high,
        dtype=torch.qint8 if bits.weight <= 8 else torch.int32,
        qscheme=qscheme,
        **extra,
    )


# Range estimators by the name a config gives (``callbacks.quantization.estimator``).
ESTIMATORS: dict[str, Callable[..., ObserverSpec]] = {
    "running_minmax": running_minmax,
    "minmax": minmax,
    "current_minmax": current_minmax,
    "percentile": percentile,
    "mse": mse,
}
