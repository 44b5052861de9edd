"""Inverted dropout with a cheaper mask on the CPU.

``nn.Dropout`` draws every mask element with ``bernoulli_``, which costs about 7 ns per
element on a CPU — a sixth of a STanHop-Net training step at the published settings.
:class:`Dropout` draws 64 random bits at a time from torch's generator and reads them as
four 16-bit uniforms, one per element, which is several times cheaper. The regularisation
is the same: each element is kept independently with probability ``1 - p``, quantised to a
multiple of 2⁻¹⁶ (``p = 0.2`` becomes 13107/65536 = 0.1999969…), and kept elements are
scaled by the inverse of that probability, so the expectation is unchanged. The scale is
rounded to the input's dtype (exact to fp32 precision; in bf16, 1.25 for ``p = 0.2``, 4·10⁻⁶
above the exact inverse, far below bf16's own rounding of 4·10⁻³).

On other devices (CUDA's dropout kernel already draws and applies the mask in one fused
pass) it is ``torch.nn.functional.dropout``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_LEVELS = 1 << 16  # 16-bit uniforms
_LOWEST = -(1 << 15)  # an int16 read of a random bit pattern is uniform on [-2¹⁵, 2¹⁵)


def keep_mask(shape: torch.Size, p: float, device: torch.device) -> torch.Tensor:
    """A boolean mask of ``shape``, each element True with probability ``1 - drop_fraction(p)``,
    from 16 random bits per element."""
    n = shape.numel()
    words = torch.empty((n + 3) // 4, dtype=torch.int64, device=device)
    # from = the smallest int64 and to = None draws all 64 bits (torch's full-range path)
    uniforms = words.random_(-(1 << 63), None).view(torch.int16)[:n].view(shape)
    return uniforms >= _LOWEST + round(p * _LEVELS)


def scaled_keep_mask(x: torch.Tensor, p: float) -> torch.Tensor:
    """A mask like ``x``, in its dtype: 0 where dropped, the inverse keep probability
    where kept."""
    scale = 1.0 / (1.0 - drop_fraction(p))
    return keep_mask(x.shape, p, x.device).to(x.dtype).mul_(scale)


# The scaled mask as an opaque operator to torch.compile: the graph keeps this cheap draw
# instead of generating its own random numbers (which inductor's CPU kernels do several
# times more slowly than eager ``bernoulli_``), and fuses the multiplication after it. The
# tag marks it as random, so the compiled backward saves the mask instead of drawing it
# again. Eagerly the model calls the function itself: a custom operator's Python dispatch
# costs about 0.13 ms a call, 3 % of the default run's step with its 25 dropouts.
@torch.library.custom_op(
    "stanhop::scaled_keep_mask", mutates_args=(), tags=(torch.Tag.nondeterministic_seeded,)
)
def _scaled_keep_mask_like(x: torch.Tensor, p: float) -> torch.Tensor:
    return scaled_keep_mask(x, p)


@_scaled_keep_mask_like.register_fake
def _(x: torch.Tensor, p: float) -> torch.Tensor:
    return torch.empty_like(x)


def drop_fraction(p: float) -> float:
    """The drop probability :class:`Dropout` realises for ``p``: ``p`` rounded to 2⁻¹⁶."""
    return round(p * _LEVELS) / _LEVELS


class Dropout(nn.Module):
    """Drop-in for ``nn.Dropout``: ``x``: (...) → (...), the same shape.

    ``bernoulli = True`` draws the mask as ``nn.Dropout`` does (the reference path, see
    :func:`stanhop.model.use_reference_path`).
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not (0.0 <= p < 1.0 and drop_fraction(p) < 1.0):
            raise ValueError(f"dropout must lie in [0, 1), got {p}")
        self.p = p
        self.bernoulli = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: (...) → (...)."""
        if not self.training or self.p == 0.0:
            return x
        if self.bernoulli or x.device.type != "cpu":
            return F.dropout(x, self.p, training=True)
        # The mask in x's dtype (a bool mask makes the backward's product take a slow,
        # type-promoting path), holding 0 or the scale: one product forward, one back.
        if torch.compiler.is_compiling():
            return x * _scaled_keep_mask_like(x.detach(), self.p)
        return x * scaled_keep_mask(x.detach(), self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"
