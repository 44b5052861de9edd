"""DLinear (Zeng et al., AAAI 2023, https://arxiv.org/abs/2205.13504): the simple baseline.

Each series is split into a trend, its moving average, and a seasonal part, the rest;
one linear map over time per component forecasts each, and the two forecasts are summed.
The maps are shared by every series, or one per series (``individual``).

Targets and past covariates: those maps see one series at a time, so a covariate cannot
reach a target through them. With covariates (``targets`` a strict subset of the input
series), one more linear map reads the covariates' whole history window (all steps, all
covariates, after RevIN when on) and adds its output to the targets' forecast. It starts
at zero, so training begins from the plain DLinear forecast of the targets.

Future-known features (``n_future`` > 0: calendar features, covariates known in
advance): one more linear map, also starting at zero, reads their values over the whole
horizon and adds its output to the targets' forecast.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from stanhop.model.revin import build_revin
from stanhop.model.shapes import check_input
from stanhop.model.targets import (
    check_future,
    check_targets,
    covariate_indices,
    n_targets,
    select,
)


@dataclass
class DLinearConfig:
    """Shape of a DLinear model; every field is a plain type so it serialises.

    ``kernel_size`` is the moving-average window of the trend (25 in the paper);
    ``revin`` wraps the model in reversible instance normalisation
    (:mod:`stanhop.model.revin`), with a learned affine map when ``revin_affine``.
    """

    n_series: int
    in_len: int
    out_len: int
    kernel_size: int = 25
    individual: bool = False
    revin: bool = False
    revin_affine: bool = False
    # The series forecast (indices of the inputs); null: all. The others are past covariates.
    targets: list[int] | None = None
    # Features known over the horizon (calendar, future covariates).
    n_future: int = 0

    def __post_init__(self) -> None:
        for name in ("n_series", "in_len", "out_len", "kernel_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"model.{name} must be at least 1, got {getattr(self, name)}")
        self.targets = check_targets(self.targets, self.n_series)

    @property
    def n_targets(self) -> int:
        return n_targets(self.targets, self.n_series)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def moving_average(x: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """Moving average over time, the ends padded by repeating the first and last step so
    the trend has the input's length (as in the paper's code).

    ``x``: (b, t, c) → trend (b, t, c).
    """
    front = (kernel_size - 1) // 2
    back = kernel_size - 1 - front
    padded = torch.cat(
        [x[:, :1].expand(-1, front, -1), x, x[:, -1:].expand(-1, back, -1)], dim=1
    )  # (b, t + kernel_size - 1, c)
    trend = F.avg_pool1d(padded.transpose(1, 2), kernel_size, stride=1)  # (b, c, t)
    return trend.transpose(1, 2)


def decompose(x: torch.Tensor, kernel_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``x``: (b, t, c) → (seasonal (b, t, c), trend (b, t, c)), seasonal + trend = x."""
    trend = moving_average(x, kernel_size)
    return x - trend, trend


class TimeLinear(nn.Module):
    """A linear map over the time axis, shared by every series or one per series.

    Initialised like ``nn.Linear(in_len, out_len)``, which the paper's code uses for both.
    """

    def __init__(self, n_series: int, in_len: int, out_len: int, individual: bool) -> None:
        super().__init__()
        maps = n_series if individual else 1
        bound = 1 / math.sqrt(in_len)
        self.weight = nn.Parameter(torch.empty(maps, out_len, in_len).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(maps, out_len).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: (b, in_len, c) → (b, out_len, c)."""
        # A single shared map broadcasts over the series (its leading axis has size 1).
        weight = self.weight.expand(x.shape[2], -1, -1)  # (c, out_len, in_len)
        return torch.einsum("bic,coi->boc", x, weight) + self.bias.T


class CovariateMap(nn.Module):
    """A linear map from the covariates' values (their history, or the future features
    over the horizon) to an addition to the targets' forecast, initialised to zero (so it
    adds nothing until trained)."""

    def __init__(self, n_covariates: int, n_targets: int, in_len: int, out_len: int) -> None:
        super().__init__()
        self.out_len, self.n_targets = out_len, n_targets
        self.linear = nn.Linear(in_len * n_covariates, out_len * n_targets, bias=False)
        nn.init.zeros_(self.linear.weight)

    def forward(self, covariates: torch.Tensor) -> torch.Tensor:
        """``covariates``: (b, in_len, v) (or (b, out_len, f)) → (b, out_len, k)."""
        out = self.linear(covariates.flatten(1))  # (b, out_len * k)
        return out.view(-1, self.out_len, self.n_targets)


class DLinear(nn.Module):
    """DLinear forecaster: (b, in_len, c) history → (b, out_len, k) forecast of the ``k``
    target series (``k = c`` without covariates)."""

    # No external memory: the trainer refuses memory options other than none.
    supports_memory = False

    def __init__(self, cfg: DLinearConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.seasonal = TimeLinear(cfg.n_series, cfg.in_len, cfg.out_len, cfg.individual)
        self.trend = TimeLinear(cfg.n_series, cfg.in_len, cfg.out_len, cfg.individual)
        self.revin = build_revin(cfg.revin, cfg.n_series, cfg.revin_affine)
        self.covariates = covariate_indices(cfg.targets, cfg.n_series)
        # Only with covariates: a model without has no covariate entries in its checkpoint.
        if self.covariates:
            self.covariate_map = CovariateMap(
                len(self.covariates), cfg.n_targets, cfg.in_len, cfg.out_len
            )
        if cfg.n_future:
            self.future_map = CovariateMap(cfg.n_future, cfg.n_targets, cfg.out_len, cfg.out_len)

    def forward(self, x: torch.Tensor, future: torch.Tensor | None = None) -> torch.Tensor:
        """``x``: (b, in_len, c), ``future``: (b, out_len, f) with ``f = n_future`` (None
        without) → forecast (b, out_len, k) of the target series."""
        cfg = self.cfg
        check_input(x, cfg.in_len, cfg.n_series)
        check_future(future, cfg.n_future, cfg.out_len)
        x, stats = self.revin.normalize(x)
        seasonal, trend = decompose(x, cfg.kernel_size)
        out = self.seasonal(seasonal) + self.trend(trend)  # (b, out_len, c)
        if not self.covariates and future is None:
            return self.revin.denormalize(out, stats)
        out = select(out, cfg.targets)  # (b, out_len, k)
        if self.covariates:
            out = out + self.covariate_map(x[..., self.covariates])
        if future is not None:
            out = out + self.future_map(future.to(out.dtype))
        return self.revin.denormalize(out, stats, cfg.targets)  # (b, out_len, k)
