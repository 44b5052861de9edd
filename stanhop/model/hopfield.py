"""Modern Hopfield retrieval with a pluggable normaliser and optional gating.

Vocabulary (Ramsauer et al., 2021): *state patterns* (queries) retrieve from *stored
patterns* (keys) and return their *pattern projections* (values). One update step with
scaling β is ``normaliser(β · R Yᵀ) · Y W_V``; with the softmax normaliser it is the
attention of a transformer, with softmax₁ it is OutEffHop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from einops import rearrange
from torch import nn

from stanhop.model.normalizers import NORMALIZERS, build_normalizer
from stanhop.model.registry import registrar


def retrieve(
    state: torch.Tensor,
    stored: torch.Tensor,
    projected: torch.Tensor,
    normalizer: nn.Module,
    beta: float,
    dropout: nn.Module,
) -> torch.Tensor:
    """One Hopfield update, per head.

    ``state``: (b, h, n, e), ``stored``: (b, h, m, e), ``projected``: (b, h, m, e)
    → retrieved (b, h, n, e).
    """
    scores = beta * torch.einsum("bhne,bhme->bhnm", state, stored)
    weights = dropout(normalizer(scores))
    return torch.einsum("bhnm,bhme->bhne", weights, projected)


GATES: dict[str, type[nn.Module]] = {}
register_gate = registrar(GATES, "gate")


@register_gate("none")
class NoGate(nn.Module):
    """Retrieval passes through unchanged."""

    def __init__(self, d_model: int, n_heads: int, pi_init: float) -> None:
        super().__init__()

    def forward(self, state_input: torch.Tensor, retrieved: torch.Tensor) -> torch.Tensor:
        """``state_input``: (b, n, d), ``retrieved``: (b, h, n, e) → (b, h, n, e)."""
        return retrieved


@register_gate("per_token")
class PerTokenGate(nn.Module):
    """Gated attention (Bondarenko et al., 2023), one gate per head and state pattern.

    Each head's retrieval is scaled by ``sigmoid(G_h(x_h))``, where ``x_h`` is that
    head's slice of the layer's state-pattern input and ``G_h`` a Linear(d_head → 1).
    The bias starts at ``logit(π_init)`` so every gate begins mostly closed, which lets a
    head learn to output nothing without needing outlier activations.
    """

    def __init__(self, d_model: int, n_heads: int, pi_init: float = 0.25) -> None:
        super().__init__()
        if not 0.0 < pi_init < 1.0:
            raise ValueError(f"gate pi_init must lie in (0, 1), got {pi_init}")
        self.n_heads = n_heads
        d_head = d_model // n_heads
        self.weight = nn.Parameter(torch.empty(n_heads, d_head))
        nn.init.uniform_(self.weight, -1 / math.sqrt(d_head), 1 / math.sqrt(d_head))
        self.bias = nn.Parameter(torch.full((n_heads,), math.log(pi_init / (1 - pi_init))))

    def forward(self, state_input: torch.Tensor, retrieved: torch.Tensor) -> torch.Tensor:
        """``state_input``: (b, n, d), ``retrieved``: (b, h, n, e) → (b, h, n, e)."""
        heads = rearrange(state_input, "b n (h e) -> b n h e", h=self.n_heads)
        logits = torch.einsum("bnhe,he->bhn", heads, self.weight) + self.bias[:, None]
        return torch.sigmoid(logits).unsqueeze(-1) * retrieved


@dataclass
class HopfieldConfig:
    """How every Hopfield layer of a model retrieves.

    ``normalizer`` names an entry of :data:`NORMALIZERS` and ``normalizer_kwargs`` its
    options (γ and ζ of the clipped family, ``alpha_init`` and ``n_iter`` of learnable
    entmax). ``gate`` names an entry of :data:`GATES`; ``gate_init`` is its π_init.
    ``beta=None`` means β = 1/√d_head.
    """

    normalizer: str = "softmax1"
    normalizer_kwargs: dict[str, float] = field(default_factory=dict)
    gate: str = "none"
    gate_init: float = 0.25
    beta: float | None = None

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

    State and stored patterns are projected per head; the pattern projection is computed
    from the stored patterns; the retrieval is gated (when configured) before the output
    projection.
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
        self.dropout = nn.Dropout(dropout)

    def forward(self, state: torch.Tensor, stored: torch.Tensor) -> torch.Tensor:
        """``state``: (b, n, d), ``stored``: (b, m, d) → retrieved (b, n, d)."""
        split = "b n (h e) -> b h n e"
        q = rearrange(self.state_proj(state), split, h=self.n_heads)
        k = rearrange(self.stored_proj(stored), split, h=self.n_heads)
        v = rearrange(self.pattern_proj(stored), split, h=self.n_heads)
        out = retrieve(q, k, v, self.normalizer, self.beta, self.dropout)
        out = self.gate(state, out)
        return self.out_proj(rearrange(out, "b h n e -> b n (h e)"))


class HopfieldPooling(nn.Module):
    """``p`` learned state patterns retrieve from the stored patterns: p pooled vectors."""

    def __init__(
        self, d_model: int, n_heads: int, n_patterns: int, cfg: HopfieldConfig, dropout: float = 0.0
    ) -> None:
        super().__init__()
        # Unit scale like the LayerNorm-ed stored patterns they are compared with.
        self.patterns = nn.Parameter(torch.randn(n_patterns, d_model))
        self.hopfield = HopfieldLayer(d_model, n_heads, cfg, dropout)

    def forward(self, stored: torch.Tensor) -> torch.Tensor:
        """``stored``: (b, m, d) → pooled (b, p, d)."""
        state = self.patterns.expand(stored.shape[0], -1, -1)
        return self.hopfield(state, stored)
