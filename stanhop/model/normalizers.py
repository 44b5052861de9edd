"""Hopfield normalisers: the map from retrieval scores to retrieval weights.

Every normaliser is a :class:`Normalizer` (an ``nn.Module``) whose ``forward(scores)``
normalises over the last axis (the stored patterns). Stateless ones hold no parameters;
``entmax`` holds its learnable α. They are found by name in :data:`NORMALIZERS`, so adding a
variant is one class and one entry of that table, never an edit of a Hopfield layer's
``forward``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from entmax import entmax15, entmax_bisect, sparsemax
from torch import nn

# torch's CPU softmax walks every row with vectors of 16 fp32 lanes and finishes it in a
# scalar loop, so rows shorter than one vector (STanHop-Net's segments and series: 7 to 12
# stored patterns, plus softmax₁'s zero logit) pay that loop for every row: with 7 to 15
# logits a row, forward and backward took 2.2 to 3.2 times as long as the same maths from
# whole-tensor elementwise operators and row reductions; from 16 logits on torch's kernel
# is the faster (bench/softmax_rows.py, one thread).
SHORT_ROW = 16


def short_rows(scores: torch.Tensor, null: int) -> bool:
    """Whether :class:`ShortRowSoftmax` is the faster way to normalise ``scores`` with
    ``null`` extra zero logits: on a CPU, rows of fewer than :data:`SHORT_ROW` logits."""
    return scores.device.type == "cpu" and scores.shape[-1] + null < SHORT_ROW


class ShortRowSoftmax(torch.autograd.Function):
    """The kernel of :func:`softmax` and :func:`softmax1` for short rows on a CPU: softmax
    over the last axis and, with ``one``, an extra zero logit, from whole-tensor operators,
    with the closed-form backward ``w ⊙ (g − Σ g ⊙ w)`` (the same for both: the zero logit
    is a constant). The shift is the row's max (and zero, with ``one``), so nothing
    overflows. ``scores``: (..., m) → weights (..., m)."""

    @staticmethod
    def forward(ctx: Any, scores: torch.Tensor, one: bool) -> torch.Tensor:
        shift = scores.amax(dim=-1, keepdim=True)
        if one:
            shift = shift.clamp_min(0)
        weights = torch.exp(scores - shift)
        total = weights.sum(dim=-1, keepdim=True)
        if one:
            total = total + torch.exp(-shift)
        weights = weights.div_(total)
        ctx.save_for_backward(weights)
        return weights

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (weights,) = ctx.saved_tensors
        weighted = grad * weights
        return weighted - weights * weighted.sum(dim=-1, keepdim=True), None


def softmax(scores: torch.Tensor) -> torch.Tensor:
    """``exp(x_i) / Σ_j exp(x_j)`` over the last axis. ``scores``: (..., m) → (..., m)."""
    if short_rows(scores, 0):
        return ShortRowSoftmax.apply(scores, False)
    return torch.softmax(scores, dim=-1)


def softmax1(scores: torch.Tensor) -> torch.Tensor:
    """Softmax₁ (OutEffHop, Hu et al. ICML 2024): ``exp(x_i) / (1 + Σ_j exp(x_j))`` over
    the last axis. ``scores``: (..., m) → (..., m), rows sum to < 1.

    It is softmax over the scores plus one extra zero logit, and is computed so: the shift
    is the max of the scores *and* that zero logit, so neither the ``exp`` of the scores
    nor the shifted "1" (``exp(-max)``) can overflow. Short rows on a CPU take
    :class:`ShortRowSoftmax`.
    """
    if short_rows(scores, 1):
        return ShortRowSoftmax.apply(scores, True)
    return torch.softmax(F.pad(scores, (0, 1)), dim=-1)[..., :-1]


class Normalizer(nn.Module):
    """Base of every normaliser.

    ``fused_null_patterns`` declares whether a fused softmax-attention kernel can compute
    the normaliser: it is the number of all-zero stored patterns (with all-zero pattern
    projections) that, appended to the stored patterns, turn softmax into this normaliser;
    ``None`` when no such number exists, and the layer then retrieves on the reference path.
    """

    fused_null_patterns: ClassVar[int | None] = None


class Softmax(Normalizer):
    """Dense modern Hopfield retrieval (Ramsauer et al., 2021): :func:`softmax`."""

    fused_null_patterns = 0

    def forward(self, scores: torch.Tensor) -> torch.Tensor:
        """``scores``: (..., m) → weights (..., m), rows sum to 1."""
        return softmax(scores)


class Softmax1(Normalizer):
    """OutEffHop: :func:`softmax1` lets a head retrieve (almost) nothing instead of an
    outlier."""

    # One zero stored pattern adds the zero logit, and its zero projection adds nothing.
    fused_null_patterns = 1

    def forward(self, scores: torch.Tensor) -> torch.Tensor:
        """``scores``: (..., m) → weights (..., m), rows sum to < 1."""
        return softmax1(scores)


class Sparsemax(Normalizer):
    """Sparse Hopfield retrieval (Hu et al., NeurIPS 2023): α-entmax with α = 2."""

    def forward(self, scores: torch.Tensor) -> torch.Tensor:
        """``scores``: (..., m) → weights (..., m), rows sum to 1 with exact zeros."""
        return sparsemax(scores, dim=-1)


class Entmax15(Normalizer):
    """α-entmax with fixed α = 1.5 (Peters et al., 2019), exact sort-based routine."""

    def forward(self, scores: torch.Tensor) -> torch.Tensor:
        """``scores``: (..., m) → weights (..., m), rows sum to 1 with exact zeros."""
        return entmax15(scores, dim=-1)


class LearnableEntmax(Normalizer):
    """GSH layer of STanHop-Net (Wu et al., ICLR 2024): α-entmax with a learnable α.

    α = 1 + sigmoid(θ) keeps α inside (1, 2), between softmax (α → 1) and sparsemax
    (α = 2), with a gradient everywhere; bisection is the only ``entmax`` routine that
    differentiates through α.
    """

    def __init__(self, alpha_init: float = 1.5, n_iter: int = 25) -> None:
        super().__init__()
        if not 1.0 < alpha_init < 2.0:
            raise ValueError(f"entmax alpha_init must lie in (1, 2), got {alpha_init}")
        if n_iter < 1:
            raise ValueError(f"entmax n_iter must be at least 1, got {n_iter}")
        # Each bisection step halves the bracket of the threshold; 25 steps narrow it to
        # about 3e-8 of its width, below float32 resolution.
        self.n_iter = int(n_iter)
        self.alpha_logit = nn.Parameter(torch.tensor(math.log((alpha_init - 1) / (2 - alpha_init))))

    @property
    def alpha(self) -> torch.Tensor:
        """The current α, a 0-d tensor in (1, 2)."""
        return 1 + torch.sigmoid(self.alpha_logit)

    def forward(self, scores: torch.Tensor) -> torch.Tensor:
        """``scores``: (..., m) → weights (..., m), rows sum to 1, sparse for α > 1."""
        return entmax_bisect(scores, self.alpha.to(scores.dtype), dim=-1, n_iter=self.n_iter)


class _Clipped(Normalizer):
    """Clipped softmax (Bondarenko et al., 2023): ``clip((ζ − γ)·p + γ, 0, 1)``.

    A negative γ lets a weight reach exactly 0 with finite scores, so a head can stop
    attending without pushing its logits (and activations) to extremes.
    """

    base: Callable[[torch.Tensor], torch.Tensor]

    def __init__(self, gamma: float = -0.025, zeta: float = 1.0) -> None:
        super().__init__()
        if gamma > 0.0 or zeta < 1.0:
            raise ValueError(f"clipped softmax needs gamma <= 0 and zeta >= 1, got {gamma}, {zeta}")
        self.gamma = gamma
        self.zeta = zeta

    def forward(self, scores: torch.Tensor) -> torch.Tensor:
        """``scores``: (..., m) → weights (..., m) in [0, 1]."""
        stretched = (self.zeta - self.gamma) * self.base(scores) + self.gamma
        return stretched.clamp(0.0, 1.0)


class ClippedSoftmax(_Clipped):
    """Clipped softmax on top of softmax."""

    base = staticmethod(partial(torch.softmax, dim=-1))


class ClippedSoftmax1(_Clipped):
    """Clipped softmax on top of :func:`softmax1` (the OutEffHop paper's combined baseline)."""

    base = staticmethod(softmax1)


def build_normalizer(name: str, **kwargs: float) -> Normalizer:
    """Instantiate the normaliser ``name`` of :data:`NORMALIZERS` with its keyword options."""
    if name not in NORMALIZERS:
        raise ValueError(f"unknown normaliser {name!r}; choose one of {sorted(NORMALIZERS)}")
    return NORMALIZERS[name](**kwargs)


NORMALIZERS: dict[str, type[Normalizer]] = {
    "softmax": Softmax,
    "softmax1": Softmax1,
    "sparsemax": Sparsemax,
    "entmax15": Entmax15,
    "entmax": LearnableEntmax,
    "clipped_softmax": ClippedSoftmax,
    "clipped_softmax1": ClippedSoftmax1,
}
