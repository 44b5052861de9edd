"""The series a model forecasts. A model reads ``n_series`` input series and forecasts the
``targets`` among them (indices; None: all, in order); the others are past covariates,
read but not forecast."""

from __future__ import annotations

import torch


def check_targets(targets: list[int] | None, n_series: int) -> list[int] | None:
    """``targets`` as a list of ints after checking each is a distinct series index; a
    one-line ``ValueError`` otherwise."""
    if targets is None:
        return None
    targets = [int(t) for t in targets]
    if not targets:
        raise ValueError("model.targets is empty; give at least one series index, or null")
    if len(set(targets)) != len(targets) or not all(0 <= t < n_series for t in targets):
        raise ValueError(
            f"model.targets must be distinct series indices in [0, {n_series}), got {targets}"
        )
    return targets


def n_targets(targets: list[int] | None, n_series: int) -> int:
    """How many series the model forecasts."""
    return n_series if targets is None else len(targets)


def covariate_indices(targets: list[int] | None, n_series: int) -> list[int]:
    """The indices of the past covariates: the input series that are not targets."""
    chosen = set(range(n_series) if targets is None else targets)
    return [c for c in range(n_series) if c not in chosen]


def select(x: torch.Tensor, targets: list[int] | None) -> torch.Tensor:
    """``x``: (..., c) → its target series (..., k); ``x`` itself when all are targets."""
    return x if targets is None else x[..., targets]


def check_future(future: torch.Tensor | None, n_future: int, out_len: int) -> None:
    """Raise a one-line ``ValueError`` unless ``future`` is what a model with ``n_future``
    known features needs: None without them, else (b, out_len, n_future)."""
    if n_future == 0:
        if future is not None:
            raise ValueError("this model takes no future features; call it with the history only")
        return
    if future is None or future.ndim != 3 or future.shape[1:] != (out_len, n_future):
        got = None if future is None else tuple(future.shape)
        raise ValueError(
            f"expected future features of shape (batch, {out_len}, {n_future}), got {got}"
        )
