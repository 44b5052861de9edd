"""A linear path beside STanHop-Net, found by name in :data:`LINEAR_PATHS`
(``model.linear_path``): a base forecast that the network corrects.

``dlinear`` is DLinear (Zeng et al., AAAI 2023, https://arxiv.org/abs/2205.13504) as
:mod:`stanhop.model.dlinear` builds it by default: each target series is split into a
trend (its moving average over 25 steps) and a seasonal rest, and one linear map over
time per component, shared by every series, forecasts each. It reads the input the
network reads (after RevIN when on) and its forecast is added to the network's before
RevIN maps the sum back, so the network learns what the linear forecast misses. Past
covariates are read by the network only: the path forecasts the targets from their own
history, as DLinear's time maps do.

``none`` adds nothing and has no parameters: a network without the path has the weights,
checkpoint entries and forecasts it has on its own.
"""

from __future__ import annotations

import torch
from torch import nn

from stanhop.model.dlinear import TimeLinear, decompose
from stanhop.model.targets import select


class NoLinearPath(nn.Module):
    """No base forecast: the network's forecast passes through unchanged."""

    def __init__(self, in_len: int, out_len: int, targets: list[int] | None) -> None:
        super().__init__()

    def forward(self, x: torch.Tensor, forecast: torch.Tensor) -> torch.Tensor:
        """``x``: (b, in_len, c), ``forecast``: (b, out_len, c) → ``forecast`` itself."""
        return forecast


class DLinearPath(nn.Module):
    """DLinear's forecast of the target series, added to the network's forecast."""

    # DLinear's moving-average window (the paper's and DLinearConfig's default).
    kernel_size = 25

    def __init__(self, in_len: int, out_len: int, targets: list[int] | None) -> None:
        super().__init__()
        self.targets = targets
        # One map per component shared by every series (DLinear's default, individual=False),
        # built in DLinear's order so a seed gives both the same initial maps.
        self.seasonal = TimeLinear(1, in_len, out_len, individual=False)
        self.trend = TimeLinear(1, in_len, out_len, individual=False)
        if targets is not None:
            # Where the targets' forecasts sit among the network's c series; not a weight,
            # so checkpoints do not store it.
            self.register_buffer("target_index", torch.tensor(targets), persistent=False)

    def base(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: (b, in_len, c) → DLinear's forecast (b, out_len, k) of the k target series."""
        seasonal, trend = decompose(select(x, self.targets), self.kernel_size)  # (b, in_len, k)
        return self.seasonal(seasonal) + self.trend(trend)

    def forward(self, x: torch.Tensor, forecast: torch.Tensor) -> torch.Tensor:
        """``x``: (b, in_len, c), ``forecast``: the network's (b, out_len, c) → the sum
        (b, out_len, c), the base forecast added to the target series only."""
        base = self.base(x).to(forecast.dtype)  # (b, out_len, k)
        if self.targets is None:
            return forecast + base
        return forecast.index_add(2, self.target_index, base)


# name -> constructor(in_len, out_len, targets) of a module whose
# forward(x (b, in_len, c), forecast (b, out_len, c)) -> (b, out_len, c) adds the path.
LINEAR_PATHS: dict[str, type[nn.Module]] = {"none": NoLinearPath, "dlinear": DLinearPath}
