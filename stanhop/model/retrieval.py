"""The retrieval paths of a Hopfield layer, found by name in :data:`RETRIEVALS`.

Every path computes one Hopfield update per head, ``normaliser(β · Q Kᵀ) V``, with one
signature: ``(state, stored, projected, normalizer, beta, dropout) → retrieved``.

- ``reference``: plain einsums that materialise the normaliser's weights; every
  normaliser, and the path every other one is checked against.
- ``batched``: the same products with the heads folded into the batch.
- ``fused``: torch's ``scaled_dot_product_attention`` where it is the faster path, for the
  normalisers that declare they can run through it
  (:attr:`~stanhop.model.normalizers.Normalizer.fused_null_patterns`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from stanhop.model.dropout import Dropout
from stanhop.model.normalizers import Normalizer


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

    The kernel normalises with softmax; the normaliser's all-zero stored patterns each
    score β·⟨ξ, 0⟩ = 0, a zero logit, and their all-zero pattern projections add nothing
    to the retrieval. On a CUDA device these padded inputs still meet the flash and
    memory-efficient kernels' conditions (no mask, equal head widths).

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


def retrieval_for(normalizer: Normalizer, fused: bool) -> str:
    """The name in :data:`RETRIEVALS` of the path a layer with ``normalizer`` takes:
    ``fused`` where asked for and the normaliser can run through the fused kernel,
    ``reference`` otherwise."""
    return "fused" if fused and normalizer.fused_null_patterns is not None else "reference"


Retrieval = Callable[
    [torch.Tensor, torch.Tensor, torch.Tensor, Normalizer, float, Dropout], torch.Tensor
]
RETRIEVALS: dict[str, Retrieval] = {
    "reference": retrieve,
    "fused": retrieve_fused,
    "batched": retrieve_batched,
}
