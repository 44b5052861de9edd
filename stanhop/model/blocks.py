"""Building blocks of STanHop-Net: the STanHop block, segment merging, decoder layer."""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from stanhop.model.config import STanHopConfig
from stanhop.model.cross_series import CROSS_SERIES
from stanhop.model.dropout import Dropout
from stanhop.model.hopfield import HopfieldLayer, HopfieldPooling


class ResidualAdd(nn.Module):
    """``x + update`` as a module, so forward hooks can observe every residual sum."""

    def forward(self, x: torch.Tensor, update: torch.Tensor) -> torch.Tensor:
        """``x``, ``update``: (..., d) → (..., d)."""
        return x + update


class PostNormResidual(nn.Module):
    """``LayerNorm(x + dropout(update))``: the post-norm sublayer wrapper of the reference."""

    def __init__(self, d_model: int, dropout: float) -> None:
        super().__init__()
        self.dropout = Dropout(dropout)
        self.add = ResidualAdd()
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor, update: torch.Tensor) -> torch.Tensor:
        """``x``, ``update``: (..., d) → (..., d)."""
        return self.norm(self.add(x, self.dropout(update)))


class Residual(nn.Module):
    """``x + dropout(update)`` with no normalisation: the un-normed sublayers of the
    reference's STanHop block."""

    def __init__(self, dropout: float) -> None:
        super().__init__()
        self.dropout = Dropout(dropout)
        self.add = ResidualAdd()

    def forward(self, x: torch.Tensor, update: torch.Tensor) -> torch.Tensor:
        """``x``, ``update``: (..., d) → (..., d)."""
        return self.add(x, self.dropout(update))


class MLP(nn.Module):
    """Position-wise feed-forward network ``Linear, GELU, Linear``; as in the reference,
    dropout acts on its output (in the residual wrapper), not inside."""

    def __init__(self, d_model: int, d_hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(d_model, d_hidden), nn.GELU(), nn.Linear(d_hidden, d_model)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: (..., d) → (..., d)."""
        return self.net(x)


class STanHopBlock(nn.Module):
    """One STanHop block, with the dataflow and normalisation of the authors' code
    (``STHMLayer`` of MAGICS-LAB/STanHop, which has a single LayerNorm per block).

    1. Temporal: each series' segments retrieve from the same series' segments, then an
       MLP; both residual, un-normed.
    2. Cross-series, per segment: every series retrieves from ``factor`` learned patterns
       (Hopfield pooling) and, beside it, from the series of that segment (all of them,
       or through learned routers: ``cfg.cross_series``, see
       :mod:`stanhop.model.cross_series`); the two retrievals are summed and normed, then
       an MLP is added, un-normed.
    """

    def __init__(self, cfg: STanHopConfig) -> None:
        super().__init__()
        d, h, hopfield, dropout = cfg.d_model, cfg.n_heads, cfg.hopfield, cfg.dropout
        self.temporal = HopfieldLayer(d, h, hopfield, dropout)
        self.temporal_res = Residual(dropout)
        self.temporal_mlp = MLP(d, cfg.d_ff)
        self.temporal_mlp_res = Residual(dropout)
        self.pooling = HopfieldPooling(d, h, cfg.factor, hopfield, dropout)
        self.cross = CROSS_SERIES[cfg.cross_series](d, h, cfg.factor, hopfield, dropout)
        self.cross_res = PostNormResidual(d, dropout)
        self.cross_mlp = MLP(d, cfg.d_ff)
        self.cross_mlp_res = Residual(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: (b, c, s, d) → (b, c, s, d)."""
        b = x.shape[0]
        t = rearrange(x, "b c s d -> (b c) s d")
        t = self.temporal_res(t, self.temporal(t, t))
        t = self.temporal_mlp_res(t, self.temporal_mlp(t))

        series = rearrange(t, "(b c) s d -> (b s) c d", b=b)
        pooled = self.pooling(series)  # (b s) c d
        y = self.cross_res(pooled, self.cross(series, series))
        y = self.cross_mlp_res(y, self.cross_mlp(y))
        return rearrange(y, "(b s) c d -> b c s d", b=b)


class SegmentMerging(nn.Module):
    """Merge every ``win_size`` neighbouring segments into one (a coarser scale).

    A segment count that is not a multiple of ``win_size`` is padded at the end by
    repeating the last segments, as in the reference.
    """

    def __init__(self, d_model: int, win_size: int) -> None:
        super().__init__()
        self.win_size = win_size
        self.norm = nn.LayerNorm(win_size * d_model)
        self.proj = nn.Linear(win_size * d_model, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: (b, c, s, d) → (b, c, ceil(s / w), d)."""
        pad = -x.shape[2] % self.win_size
        if pad:
            x = torch.cat([x, x[:, :, -pad:]], dim=2)
        x = rearrange(x, "b c (s w) d -> b c s (w d)", w=self.win_size)
        return self.proj(self.norm(x))


class EncoderScale(nn.Module):
    """One encoder scale: optional segment merging, then a STanHop block."""

    def __init__(self, merge: nn.Module, block: STanHopBlock) -> None:
        super().__init__()
        self.merge = merge
        self.block = block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: (b, c, s, d) → (b, c, s', d), s' = s at the first scale."""
        return self.block(self.merge(x))


class DecoderLayer(nn.Module):
    """Decoder layer for one scale: a STanHop block over the decoder positions, a
    retrieval from the matching encoder scale, an MLP, and a per-segment prediction."""

    def __init__(self, cfg: STanHopConfig) -> None:
        super().__init__()
        d, dropout = cfg.d_model, cfg.dropout
        self.block = STanHopBlock(cfg)
        self.cross = HopfieldLayer(d, cfg.n_heads, cfg.hopfield, dropout)
        self.cross_res = PostNormResidual(d, dropout)
        # d_model wide, as in the reference (and the Crossformer decoder it comes from),
        # with no dropout on its output.
        self.mlp = MLP(d, d)
        self.mlp_res = PostNormResidual(d, 0.0)
        self.predict = nn.Linear(d, cfg.seg_len)

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x``: (b, c, s_out, d), ``memory``: (b, c, s_in, d)
        → (decoded (b, c, s_out, d), prediction (b, c, s_out, seg_len))."""
        b = x.shape[0]
        x = rearrange(self.block(x), "b c s d -> (b c) s d")
        memory = rearrange(memory, "b c s d -> (b c) s d")
        x = self.cross_res(x, self.cross(x, memory))
        x = self.mlp_res(x, self.mlp(x))
        x = rearrange(x, "(b c) s d -> b c s d", b=b)
        return x, self.predict(x)
