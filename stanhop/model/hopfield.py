"""The Hopfield layer and Hopfield pooling of STanHop-Net (Wu et al., ICLR 2024).

Vocabulary (Ramsauer et al., 2021): *state patterns* ``R`` (queries) retrieve from
*stored patterns* ``Y`` (keys) and return their *pattern projections* (values). One update
with scaling β is ``normaliser(β · R W_Q (Y W_K)ᵀ) · Y W_K W_V``: with softmax it is the
attention of a transformer, with softmax₁ OutEffHop, with learnable α-entmax the GSH layer.

The normalisers are in :mod:`stanhop.model.normalizers`, the gates on a retrieval in
:mod:`stanhop.model.gates`, and the paths that compute the update (reference, batched,
fused kernel) in :mod:`stanhop.model.retrieval`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from stanhop.model.dropout import Dropout
from stanhop.model.gates import GATES
from stanhop.model.normalizers import NORMALIZERS, build_normalizer
from stanhop.model.retrieval import RETRIEVALS, retrieval_for


@dataclass
class HopfieldConfig:
    """How every Hopfield layer of a model retrieves.

    ``normalizer`` names an entry of :data:`NORMALIZERS` and ``normalizer_kwargs`` its
    options (γ and ζ of the clipped family, ``alpha_init`` and ``n_iter`` of learnable
    entmax). ``gate`` names an entry of :data:`GATES`; ``gate_init`` is its π_init.
    ``beta=None`` means β = 1/√d_head. ``fused`` retrieves through the fused kernel where
    the normaliser allows it (same maths; the reference path otherwise). ``name`` labels
    the variant in reports and dashboards (the ``hopfield=`` option it came from).
    """

    name: str = "custom"
    normalizer: str = "softmax1"
    normalizer_kwargs: dict[str, Any] = field(default_factory=dict)
    gate: str = "none"
    gate_init: float = 0.25
    beta: float | None = None
    fused: bool = True

    def __post_init__(self) -> None:
        if self.normalizer not in NORMALIZERS:
            raise ValueError(
                f"unknown normaliser {self.normalizer!r}; choose one of {sorted(NORMALIZERS)}"
            )
        if self.gate not in GATES:
            raise ValueError(f"unknown gate {self.gate!r}; choose one of {sorted(GATES)}")
        if self.beta is not None and self.beta <= 0:
            raise ValueError(
                f"hopfield beta must be positive (or null for 1/sqrt(d_head)), got {self.beta}"
            )


class HopfieldLayer(nn.Module):
    """Multi-head Hopfield layer: state patterns retrieve from stored patterns.

    As in the Hopfield layer of Ramsauer et al. (and the authors' STanHop code), the
    pattern projection acts on the projected stored patterns: keys ``K = stored_proj(Y)``,
    values ``V = pattern_proj(K)``. The retrieval is gated (when configured) before the
    output projection. ``retrieval`` names the path in :data:`RETRIEVALS` that computes
    the update. Every path calls the layer's ``normalizer`` on the materialised scores,
    the fused one too wherever it falls back to the batched path (on a CPU: small
    retrievals, dropout); only the fused kernel itself does without it.
    """

    def __init__(
        self, d_model: int, n_heads: int, cfg: HopfieldConfig, dropout: float = 0.0
    ) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
        self.n_heads = n_heads
        d_head = d_model // n_heads
        self.beta = cfg.beta if cfg.beta is not None else 1.0 / math.sqrt(d_head)
        self.state_proj = nn.Linear(d_model, d_model)
        self.stored_proj = nn.Linear(d_model, d_model)
        self.pattern_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self.normalizer = build_normalizer(cfg.normalizer, **cfg.normalizer_kwargs)
        self.gate = GATES[cfg.gate](d_model, n_heads, cfg.gate_init)
        self.dropout = Dropout(dropout)
        self.retrieval = retrieval_for(self.normalizer, cfg.fused)
        self.stack_projections = True

    def keys_values(self, stored: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``stored``: (..., m, d) → keys, values, each (..., m, d)."""
        keys = self.stored_proj(stored)
        return keys, self.pattern_proj(keys)

    def project(
        self, state: torch.Tensor, stored: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Query, key and value projections: (b, n, d), (b, m, d), (b, m, d).

        In a self-retrieval (the state patterns are the stored ones) the state and stored
        projections read the same tensor and run as one matrix product of their stacked
        weights, which reads (and, under autocast, casts) the input once; the parameters
        stay separate, so checkpoints keep their names. With ``stack_projections =
        False`` (the reference path) each runs on its own.
        """
        if self.stack_projections and state is stored:
            weight = torch.cat([self.state_proj.weight, self.stored_proj.weight])
            bias = torch.cat([self.state_proj.bias, self.stored_proj.bias])
            query, keys = F.linear(stored, weight, bias).chunk(2, dim=-1)
            return query, keys, self.pattern_proj(keys)
        return self.state_proj(state), *self.keys_values(stored)

    def forward(
        self,
        state: torch.Tensor,
        stored: torch.Tensor,
        keys_values: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """``state``: (b, n, d), ``stored``: (b, m, d) → retrieved (b, n, d).

        ``keys_values`` are ``keys_values(stored)`` when the caller has them already
        (:class:`HopfieldPooling` projects its learned patterns once for the whole batch).
        """
        if keys_values is None:
            query, keys, values = self.project(state, stored)
        else:
            query, (keys, values) = self.state_proj(state), keys_values
        split = "b n (h e) -> b h n e"
        q = rearrange(query, split, h=self.n_heads)
        k = rearrange(keys, split, h=self.n_heads)
        v = rearrange(values, split, h=self.n_heads)
        out = RETRIEVALS[self.retrieval](q, k, v, self.normalizer, self.beta, self.dropout)
        out = self.gate(state, out)
        return self.out_proj(rearrange(out, "b h n e -> b n (h e)"))


class HopfieldPooling(nn.Module):
    """Every state pattern retrieves from ``p`` learned stored patterns (the authors'
    ``HopfieldPooling``): a summary of each input in terms of patterns shared by all."""

    def __init__(
        self, d_model: int, n_heads: int, n_patterns: int, cfg: HopfieldConfig, dropout: float = 0.0
    ) -> None:
        super().__init__()
        # Unit scale like the LayerNorm-ed state patterns they are compared with.
        self.patterns = nn.Parameter(torch.randn(n_patterns, d_model))
        self.hopfield = HopfieldLayer(d_model, n_heads, cfg, dropout)

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        """``state``: (b, n, d) → retrieved (b, n, d)."""
        b = state.shape[0]
        stored = self.patterns.expand(b, -1, -1)
        # The learned patterns are the same for every batch element: project them once,
        # not b times.
        keys, values = self.hopfield.keys_values(self.patterns)
        return self.hopfield(state, stored, (keys.expand(b, -1, -1), values.expand(b, -1, -1)))


def use_reference_path(model: nn.Module) -> None:
    """Switch ``model`` to the plain path every speed-up is checked against: reference
    retrieval (:func:`use_reference_retrieval`), one matrix product per projection, and
    dropout masks drawn with ``bernoulli_`` as ``nn.Dropout`` does. The maths is the same,
    so outputs change only by rounding (and, in training, by the dropout masks drawn)."""
    use_reference_retrieval(model)
    for module in model.modules():
        if isinstance(module, HopfieldLayer):
            module.stack_projections = False
        elif isinstance(module, Dropout):
            module.bernoulli = True


def use_reference_retrieval(model: nn.Module) -> None:
    """Switch every :class:`HopfieldLayer` in ``model`` to the reference path, which calls
    each layer's ``normalizer`` module on the materialised scores and so lets hooks observe
    the retrieval weights. The maths is the same, so outputs change only by rounding."""
    for module in model.modules():
        if isinstance(module, HopfieldLayer):
            module.retrieval = "reference"
