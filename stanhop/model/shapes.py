"""Input checks shared by the forecasting models."""

from __future__ import annotations

import torch


def check_input(x: torch.Tensor, in_len: int, n_series: int) -> None:
    """Raise a one-line ``ValueError`` unless ``x`` is a batch of model inputs,
    (b, in_len, c) with ``c == n_series``."""
    if x.ndim != 3 or x.shape[1:] != (in_len, n_series):
        raise ValueError(
            f"expected input of shape (batch, {in_len}, {n_series}), got {tuple(x.shape)}"
        )
