"""Gates on a Hopfield layer's retrieval, found by name in :data:`GATES`.

A gate scales each head's retrieval before the layer's output projection; it is built as
``GATES[name](d_model, n_heads, pi_init)`` and called as ``gate(state_input, retrieved)``.
"""

from __future__ import annotations

import math

import torch
from einops import rearrange
from torch import nn


class NoGate(nn.Module):
    """Retrieval passes through unchanged."""

    def __init__(self, d_model: int, n_heads: int, pi_init: float) -> None:
        super().__init__()

    def forward(self, state_input: torch.Tensor, retrieved: torch.Tensor) -> torch.Tensor:
        """``state_input``: (b, n, d), ``retrieved``: (b, h, n, e) → (b, h, n, e)."""
        return retrieved


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


GATES: dict[str, type[nn.Module]] = {
    "none": NoGate,
    "per_token": PerTokenGate,
}
