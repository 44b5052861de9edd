"""Forecasts that need no training, the yardstick of a trained model: a model that does
not beat repeating the last value (persistence) or the last season (seasonal naive) has
learned nothing useful."""

from __future__ import annotations

import torch


def persistence(x: torch.Tensor, out_len: int) -> torch.Tensor:
    """``x``: (b, in_len, c) → the last step repeated, (b, out_len, c)."""
    return x[:, -1:].expand(-1, out_len, -1)


def seasonal_naive(x: torch.Tensor, out_len: int, season: int) -> torch.Tensor:
    """``x``: (b, in_len, c) → the last ``season`` steps repeated, (b, out_len, c)."""
    if not 1 <= season <= x.shape[1]:
        raise ValueError(f"season {season} must be between 1 and in_len {x.shape[1]}")
    steps = x.shape[1] - season + torch.arange(out_len, device=x.device) % season
    return x[:, steps]
