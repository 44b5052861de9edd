"""Modern Hopfield retrieval with a pluggable normaliser and optional gating.

Vocabulary (Ramsauer et al., 2021): *state patterns* (queries) retrieve from *stored
patterns* (keys) and return their *pattern projections* (values). One update step with
scaling β is ``normaliser(β · R Yᵀ) · Y W_V``; with the softmax normaliser it is the
attention of a transformer, with softmax₁ it is OutEffHop.

Two retrieval paths compute the same update and are found by name in :data:`RETRIEVALS`:
``reference``, plain einsums that materialise the normaliser's weights, and ``fused``,
torch's ``scaled_dot_product_attention``, for the normalisers that declare they can run
through it (:attr:`Normalizer.fused_null_patterns`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from stanhop.model.dropout import Dropout
from stanhop.model.normalizers import NORMALIZERS, Normalizer, build_normalizer
from stanhop.model.registrar import registrar


def attention_weights(
    scores: torch.Tensor, normalizer: Normalizer, dropout: Dropout, dtype: torch.dtype
) -> torch.Tensor:
    """``scores`` (..., n, m) normalised over the stored patterns, dropped out, in
    ``dtype`` (that of the values they weight). The normaliser runs in fp32 at least:
    under bf16 autocast its exp, sums and thresholds would otherwise round to 8
    significant bits."""
    weights = normalizer(scores.to(torch.promote_types(scores.dtype, torch.float32)))
    return dropout(weights).to(dtype)


def retrieve(
    state: torch.Tensor,
    stored: torch.Tensor,
    projected: torch.Tensor,
    normalizer: Normalizer,
    beta: float,
    dropout: Dropout,
) -> torch.Tensor:
    """One Hopfield update, per head: the reference path, for every normaliser.

    ``state``: (b, h, n, e), ``stored``: (b, h, m, e), ``projected``: (b, h, m, e)
    → retrieved (b, h, n, e).
    """
    scores = beta * torch.einsum("bhne,bhme->bhnm", state, stored)
    weights = attention_weights(scores, normalizer, dropout, projected.dtype)
    return torch.einsum("bhnm,bhme->bhne", weights, projected)


def retrieve_batched(
    state: torch.Tensor,
    stored: torch.Tensor,
    projected: torch.Tensor,
    normalizer: Normalizer,
    beta: float,
    dropout: Dropout,
) -> torch.Tensor:
    """:func:`retrieve` with the heads folded into the batch: each input is copied once
    into (b·h, n, e) and both products are single ``bmm`` calls, where ``einsum`` on the
    head-split views permutes, copies and reshapes around each product (about half the
    operators, forward and back). The same maths.

    ``state``: (b, h, n, e), ``stored``: (b, h, m, e), ``projected``: (b, h, m, e)
    → retrieved (b, h, n, e).
    """
    b, h, n, e = state.shape
    q = state.reshape(b * h, n, e)
    k = stored.reshape(b * h, -1, e)
    v = projected.reshape(b * h, -1, e)
    scores = torch.bmm(q, k.transpose(1, 2)).mul_(beta)  # (b·h, n, m)
    return torch.bmm(attention_weights(scores, normalizer, dropout, v.dtype), v).view(b, h, n, e)


def retrieve_sdpa(
    state: torch.Tensor,
    stored: torch.Tensor,
    projected: torch.Tensor,
    normalizer: Normalizer,
    beta: float,
    dropout: Dropout,
) -> torch.Tensor:
    """The same update through ``scaled_dot_product_attention``, which never materialises
    the weights, for normalisers with a ``fused_null_patterns`` count.

    Softmax₁ is softmax over the scores plus one zero logit: an all-zero stored pattern
    scores β·⟨ξ, 0⟩ = 0 and its all-zero pattern projection adds nothing to the retrieval.
    On a CUDA device these padded inputs still meet the flash and memory-efficient
    kernels' conditions (no mask, equal head widths).

    ``state``: (b, h, n, e), ``stored``: (b, h, m, e), ``projected``: (b, h, m, e)
    → retrieved (b, h, n, e).
    """
    null = normalizer.fused_null_patterns
    if null:
        stored = F.pad(stored, (0, 0, 0, null))  # (b, h, m + null, e)
        projected = F.pad(projected, (0, 0, 0, null))
    return F.scaled_dot_product_attention(
        state,
        stored,
        projected,
        dropout_p=dropout.p if dropout.training else 0.0,
        scale=beta,
    )


# On a CPU the fused kernel pays off only for large retrievals (bench/retrieval.py, one
# thread, an AVX512-BF16 CPU, inference): per head, 28 × 28 scores took 1.3× (fp32) and
# 1.9× (bf16) as long through it as on the reference path, 7 × 10 scores 2.6× and 3.1×,
# 60 × 60 about the same (1.2×, 0.9×) and 120 × 120 0.7× and 0.4×. With dropout on,
# torch's CPU kernel runs its unfused math path anyway, drawing the mask with bernoulli_;
# the reference path is the same maths with the cheaper mask of stanhop.model.dropout.
CPU_FUSED_MIN_SCORES = 4096


def retrieve_fused(
    state: torch.Tensor,
    stored: torch.Tensor,
    projected: torch.Tensor,
    normalizer: Normalizer,
    beta: float,
    dropout: Dropout,
) -> torch.Tensor:
    """:func:`retrieve_sdpa` where it is the faster path: always off the CPU (CUDA's flash
    and memory-efficient kernels); on a CPU for retrievals of at least
    :data:`CPU_FUSED_MIN_SCORES` scores per head without dropout, :func:`retrieve_batched`
    otherwise.

    ``state``: (b, h, n, e), ``stored``: (b, h, m, e), ``projected``: (b, h, m, e)
    → retrieved (b, h, n, e).
    """
    if state.device.type == "cpu" and (
        (dropout.training and dropout.p > 0)
        or state.shape[-2] * stored.shape[-2] < CPU_FUSED_MIN_SCORES
    ):
        return retrieve_batched(state, stored, projected, normalizer, beta, dropout)
    return retrieve_sdpa(state, stored, projected, normalizer, beta, dropout)


Retrieval = Callable[
    [torch.Tensor, torch.Tensor, torch.Tensor, Normalizer, float, Dropout], torch.Tensor
]
RETRIEVALS: dict[str, Retrieval] = {
    "reference": retrieve,
    "fused": retrieve_fused,
    "batched": retrieve_batched,
}


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
    output projection. ``retrieval`` names the path in :data:`RETRIEVALS`; ``normalizer``
    is called on the reference path only (see :func:`use_reference_retrieval`).
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
        fusable = cfg.fused and self.normalizer.fused_null_patterns is not None
        self.retrieval = "fused" if fusable else "reference"
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
    each layer's ``normalizer`` module and so lets hooks observe the retrieval weights.
    The maths is the same, so outputs change only by rounding."""
    for module in model.modules():
        if isinstance(module, HopfieldLayer):
            module.retrieval = "reference"
