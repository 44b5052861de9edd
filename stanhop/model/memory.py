"""External memory for STanHop-Net (Wu et al., ICLR 2024, Sec. 3.4), found by name in
:data:`MEMORIES`.

A memory is a set of ``K`` windows shaped like the model input, ``(K, in_len, c)`` on
the standardised scale. The network embeds them with its own patch embedding (shared,
not copied), and the input's embedded segments, as state patterns, retrieve from the
memory's embedded segments of the same series, as stored patterns, through a Hopfield
layer with the model's normaliser. The retrieval is added to the encoder input through
a gate that starts at zero, so a memory switched on changes nothing until training
opens the gate:

- ``none``: the encoder input passes through.
- ``plug_and_play``: the windows are a buffer, not trained. They can be swapped at any
  time without a weight update (:func:`stanhop.forecast.memory.attach_memory`), e.g. for
  windows of past events; the retrieval and gate are trained with the model.
- ``tune_and_play``: the windows are a learnable bank, initialised from training
  windows and trained with the model or alone
  (:func:`stanhop.training.memory_setup.tune_memory_only`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from einops import rearrange
from torch import nn

from stanhop.model.hopfield import HopfieldConfig, HopfieldLayer

# (k, in_len, c) windows → (k, c, s, d) embedded segments: the network's own embedding.
Embedding = Callable[[torch.Tensor], torch.Tensor]


def check_windows(windows: torch.Tensor, in_len: int, n_series: int) -> None:
    """Raise a one-line ``ValueError`` unless ``windows`` is ``(K, in_len, n_series)``,
    ``K >= 1``, and finite."""
    shape = tuple(windows.shape)
    if windows.ndim != 3 or shape[0] < 1 or shape[1:] != (in_len, n_series):
        raise ValueError(
            f"memory windows must have shape (K, in_len={in_len}, series={n_series}) with "
            f"K >= 1, got {shape}; cut the memory history into windows of the model's "
            "in_len steps over its series"
        )
    if not torch.isfinite(windows).all():
        raise ValueError("memory windows hold NaN or infinite values; fill or drop them")


class NoMemory(nn.Module):
    """No memory: the encoder input passes through unchanged. ``options``, those of every
    memory (:class:`WindowMemory`), are unused."""

    def __init__(self, **options: Any) -> None:
        super().__init__()

    def forward(self, enc: torch.Tensor, embed: Embedding) -> torch.Tensor:
        """``enc``: (b, c, s, d) → (b, c, s, d), unchanged."""
        return enc


class ZeroGate(nn.Module):
    """``x + update Wᵀ`` with ``W`` (d, d) starting at zero: closed, so switching a memory
    on changes nothing, yet with a gradient ``∂L/∂W = (∂L/∂x')ᵀ update`` so training can
    open it. A full matrix (ControlNet's "zero convolution") rather than a per-channel
    ``tanh(α)`` gate: each step moves all d² entries, so it opens within a short
    training, where a tanh gate measurably stayed below 0.05 (bench/memory_events.py)."""

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(d_model, d_model))

    def forward(self, x: torch.Tensor, update: torch.Tensor) -> torch.Tensor:
        """``x``, ``update``: (..., d) → (..., d)."""
        return x + update @ self.weight.T


class WindowMemory(nn.Module):
    """Retrieval from memory windows, added to the encoder input through a
    :class:`ZeroGate`. Subclasses say how the ``size`` windows (attribute ``windows``,
    shape ``(size, in_len, n_series)``) are held; the retrieval is a Hopfield layer of the
    model's width, heads, Hopfield config and dropout."""

    windows: torch.Tensor

    def __init__(
        self,
        *,
        in_len: int,
        n_series: int,
        size: int,
        d_model: int,
        n_heads: int,
        hopfield: HopfieldConfig,
        dropout: float,
    ) -> None:
        super().__init__()
        self.in_len, self.n_series = in_len, n_series
        self.retrieval = HopfieldLayer(d_model, n_heads, hopfield, dropout)
        self.gate = ZeroGate(d_model)

    def set_windows(self, windows: torch.Tensor) -> None:
        """Store ``windows`` (K, in_len, c), standardised like the model's inputs."""
        raise NotImplementedError

    def retrieve(self, enc: torch.Tensor, embed: Embedding) -> torch.Tensor:
        """``enc``: (b, c, s, d) state patterns → retrieved (b, c, s, d).

        Every segment of series ``c`` retrieves from the ``K · s`` embedded segments of
        series ``c`` across the memory windows, wherever they lie in their window, so a
        pattern is found at any offset. All batch elements share the stored patterns, so
        they are one row of state patterns per series rather than ``b`` copies.
        """
        b = enc.shape[0]
        stored = rearrange(embed(self.windows), "k c s d -> c (k s) d")
        state = rearrange(enc, "b c s d -> c (b s) d")
        retrieved = self.retrieval(state, stored)
        return rearrange(retrieved, "c (b s) d -> b c s d", b=b)

    def forward(self, enc: torch.Tensor, embed: Embedding) -> torch.Tensor:
        """``enc``: (b, c, s, d) encoder input → (b, c, s, d) with the gated retrieval."""
        return self.gate(enc, self.retrieve(enc, embed))


class PlugAndPlayMemory(WindowMemory):
    """Train-less memory: the windows are a buffer (saved with the model, never
    trained) of any size ``K``; :meth:`set_windows` swaps them at any time."""

    def __init__(self, *, size: int, **options: Any) -> None:
        super().__init__(size=size, **options)
        # Zeros until set_windows; a checkpoint restores the windows it was saved with.
        self.register_buffer("windows", torch.zeros(size, self.in_len, self.n_series))

    def set_windows(self, windows: torch.Tensor) -> None:
        check_windows(windows, self.in_len, self.n_series)
        self.windows = windows.detach().to(self.windows).clone()

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any) -> None:
        # The buffer takes the saved number of windows, which need not be ``size``.
        saved = state_dict.get(prefix + "windows")
        if saved is not None:
            self.windows = torch.empty_like(saved, device=self.windows.device)
        super()._load_from_state_dict(state_dict, prefix, *args)


class TuneAndPlayMemory(WindowMemory):
    """Task-aware memory: a learnable bank of exactly ``size`` windows, initialised
    with :meth:`set_windows` (from training windows) and then trained."""

    def __init__(self, *, size: int, **options: Any) -> None:
        super().__init__(size=size, **options)
        self.windows = nn.Parameter(torch.zeros(size, self.in_len, self.n_series))

    def set_windows(self, windows: torch.Tensor) -> None:
        check_windows(windows, self.in_len, self.n_series)
        if len(windows) != len(self.windows):
            raise ValueError(
                f"the tune_and_play bank holds memory.size={len(self.windows)} windows, "
                f"got {len(windows)}; give that many or change memory.size"
            )
        with torch.no_grad():
            self.windows.copy_(windows)


def build_memory(cfg: Any) -> nn.Module:
    """The memory module ``cfg.memory`` names, sized for the model config ``cfg`` (a
    :class:`~stanhop.model.config.STanHopConfig`, whose module imports :data:`MEMORIES`
    from this one to check the name)."""
    return MEMORIES[cfg.memory.name](
        in_len=cfg.in_len,
        n_series=cfg.n_series,
        size=cfg.memory.size,
        d_model=cfg.d_model,
        n_heads=cfg.n_heads,
        hopfield=cfg.hopfield,
        dropout=cfg.dropout,
    )


MEMORIES: dict[str, type[nn.Module]] = {
    "none": NoMemory,
    "plug_and_play": PlugAndPlayMemory,
    "tune_and_play": TuneAndPlayMemory,
}
