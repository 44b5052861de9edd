"""Reversible instance normalisation (RevIN; Kim et al., ICLR 2022,
https://openreview.net/forum?id=cGDAkQo1C0p).

Each input window is standardised per series by its own mean and standard deviation
(optionally followed by a learned per-series affine map), the model forecasts on that
scale, and the forecast is mapped back with the same statistics. A model so wrapped sees
every window at the same level and spread, which removes most of the shift in level
between the training period and later ones (ETT, weather).
"""

from __future__ import annotations

import torch
from torch import nn

from stanhop.model.targets import select

# (mean, std), each (b, 1, c): the statistics of the windows a forecast maps back with
Stats = tuple[torch.Tensor, torch.Tensor]


class RevIN(nn.Module):
    """``normalize`` a window, forecast, ``denormalize`` the forecast.

    ``eps`` is added to the variance, so a constant series maps to zeros (not NaN) and back
    to its constant.
    """

    def __init__(self, n_series: int, affine: bool = False, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = nn.Parameter(torch.ones(n_series))
            self.bias = nn.Parameter(torch.zeros(n_series))

    def std(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: (b, t, c) → the standard deviation (b, 1, c) each window is divided by."""
        return torch.sqrt(x.var(dim=1, keepdim=True, unbiased=False) + self.eps)

    def normalize(self, x: torch.Tensor) -> tuple[torch.Tensor, Stats]:
        """``x``: (b, t, c) → (normalised (b, t, c), its statistics)."""
        mean = x.mean(dim=1, keepdim=True)
        std = self.std(x)
        z = (x - mean) / std
        if self.affine:
            z = z * self.weight + self.bias
        return z, (mean, std)

    def denormalize(
        self, y: torch.Tensor, stats: Stats, series: list[int] | None = None
    ) -> torch.Tensor:
        """``y``: (b, h, c) on the normalised scale → (b, h, c) on the input's scale;
        with ``series`` (indices), ``y`` (b, h, k) holds those series of the input only."""
        mean, std = (select(s, series) for s in stats)
        if self.affine:
            y = (y - select(self.bias, series)) / select(self.weight, series)
        return y * std + mean


class NoRevIN(nn.Module):
    """The same interface, passing windows and forecasts through unchanged."""

    def normalize(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        """``x``: (b, t, c) → (x, no statistics)."""
        return x, None

    def denormalize(
        self, y: torch.Tensor, stats: None, series: list[int] | None = None
    ) -> torch.Tensor:
        """``y``: (b, h, c) or (b, h, k) → y."""
        return y


def build_revin(enabled: bool, n_series: int, affine: bool) -> nn.Module:
    """:class:`RevIN` when ``enabled``, else :class:`NoRevIN` (no parameters, so a model
    without it has no RevIN entries in its checkpoint)."""
    return RevIN(n_series, affine) if enabled else NoRevIN()
