"""Forecasting with memory: give a trained STanHop-Net new memory windows (events the
forecast should recall) without a weight update."""

from __future__ import annotations

import warnings

import torch
from torch import nn

from stanhop.model.config import MemoryConfig
from stanhop.model.memory import (
    PlugAndPlayMemory,
    TuneAndPlayMemory,
    build_memory,
    check_windows,
)


def attach_memory(model: nn.Module, windows: torch.Tensor) -> nn.Module:
    """Give a trained STanHop-Net the memory ``windows`` (K, in_len, c), standardised
    like its inputs, with no weight update; returns ``model``.

    A model trained with ``plug_and_play`` keeps its learned retrieval and gate and only
    swaps its windows. A model trained without memory gets a new ``plug_and_play``
    module whose gate is closed, so its forecasts stay as they were (with a warning):
    using a memory needs a gate trained with one. A ``tune_and_play`` bank is learned,
    so it is not overwritten (a ``ValueError``).
    """
    cfg = model.cfg
    check_windows(windows, cfg.in_len, cfg.n_series)  # before anything is changed
    if isinstance(model.memory, TuneAndPlayMemory):
        raise ValueError(
            "this model's tune_and_play memory is a learned bank; attach memory windows to a "
            "model trained with memory=plug_and_play (or memory=none)"
        )
    if not isinstance(model.memory, PlugAndPlayMemory):
        warnings.warn(
            "the model was trained without memory: its new plug_and_play gate is closed, so "
            "the forecast is unchanged; train with memory=plug_and_play to use memory",
            stacklevel=2,
        )
        cfg.memory = MemoryConfig("plug_and_play", size=len(windows))
        reference = next(model.parameters())
        memory = build_memory(cfg).to(reference.device, reference.dtype)
        model.memory = memory.train(model.training)
    model.memory.set_windows(windows)
    return model
