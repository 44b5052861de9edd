"""STanHop-Net (Wu et al., ICLR 2024, https://arxiv.org/abs/2312.17346).

Each series is cut into segments of ``seg_len`` steps and embedded; a hierarchical
encoder of STanHop blocks works at ``e_layers`` scales, merging ``win_size`` segments
between scales; a decoder predicts the horizon from every scale and sums the predictions.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from einops import rearrange
from torch import nn

from stanhop.model.blocks import DecoderLayer, EncoderScale, SegmentMerging, STanHopBlock
from stanhop.model.cross_series import CROSS_SERIES
from stanhop.model.hopfield import HopfieldConfig
from stanhop.model.memory import MemoryConfig, build_memory
from stanhop.model.revin import build_revin
from stanhop.model.shapes import check_input


@dataclass
class STanHopConfig:
    """Shape and width of a STanHop-Net; every field is a plain type so it serialises."""

    n_series: int
    in_len: int
    out_len: int
    seg_len: int = 12
    win_size: int = 2
    factor: int = 10  # pooling patterns of the cross-series stage (the reference's "router")
    # How series retrieve from each other: "full" (the authors' block, quadratic in the
    # number of series) or "router" (linear; stanhop.model.cross_series).
    cross_series: str = "full"
    d_model: int = 64
    d_ff: int = 128
    n_heads: int = 4
    e_layers: int = 2
    dropout: float = 0.2
    # Reversible instance normalisation around the network (stanhop.model.revin).
    revin: bool = False
    revin_affine: bool = False
    hopfield: HopfieldConfig = field(default_factory=HopfieldConfig)
    memory: MemoryConfig = field(default_factory=MemoryConfig)

    def __post_init__(self) -> None:
        if isinstance(self.hopfield, dict):
            self.hopfield = HopfieldConfig(**self.hopfield)
        if isinstance(self.memory, dict):
            self.memory = MemoryConfig(**self.memory)
        positive = ("n_series", "in_len", "out_len", "seg_len", "win_size", "factor")
        positive += ("d_model", "d_ff", "n_heads", "e_layers")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"model.{name} must be at least 1, got {getattr(self, name)}")
        if self.cross_series not in CROSS_SERIES:
            raise ValueError(
                f"unknown model.cross_series {self.cross_series!r}; choose one of "
                f"{sorted(CROSS_SERIES)}"
            )
        if self.d_model % self.n_heads:
            raise ValueError(
                f"model.d_model ({self.d_model}) must be divisible by "
                f"model.n_heads ({self.n_heads})"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"model.dropout must lie in [0, 1), got {self.dropout}")

    @property
    def in_segments(self) -> int:
        return math.ceil(self.in_len / self.seg_len)

    @property
    def out_segments(self) -> int:
        return math.ceil(self.out_len / self.seg_len)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class STanHopNet(nn.Module):
    """STanHop-Net forecaster: (b, in_len, c) history → (b, out_len, c) forecast."""

    # An external memory on the encoder input (stanhop.model.memory, conf/memory/).
    supports_memory = True

    def __init__(self, cfg: STanHopConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.embed = nn.Linear(cfg.seg_len, d)
        self.enc_pos = nn.Parameter(torch.randn(1, cfg.n_series, cfg.in_segments, d))
        self.embed_norm = nn.LayerNorm(d)

        # The first scale works on the embedded segments as they are; later ones merge.
        merges = [nn.Identity()] + [
            SegmentMerging(d, cfg.win_size) if cfg.win_size > 1 else nn.Identity()
            for _ in range(cfg.e_layers - 1)
        ]
        self.encoder = nn.ModuleList(EncoderScale(merge, STanHopBlock(cfg)) for merge in merges)

        self.dec_pos = nn.Parameter(torch.randn(1, cfg.n_series, cfg.out_segments, d))
        self.decoder = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.e_layers + 1))
        # External memory on the encoder input (stanhop.model.memory); "none" passes it on.
        # Built last, so a seed gives the backbone the same initial weights with or without.
        self.memory = build_memory(cfg)
        self.revin = build_revin(cfg.revin, cfg.n_series, cfg.revin_affine)

    def embed_windows(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder input: ``x``: (b, in_len, c) → embedded segments (b, c, s, d)."""
        cfg = self.cfg
        check_input(x, cfg.in_len, cfg.n_series)
        pad = cfg.in_segments * cfg.seg_len - cfg.in_len
        if pad:
            # Pad at the front by repeating the first step, so the newest data stays aligned.
            x = torch.cat([x[:, :1].expand(-1, pad, -1), x], dim=1)
        segments = rearrange(x, "b (s l) c -> b c s l", l=cfg.seg_len)
        # bf16 under bf16 autocast on a CPU: the positional parameters follow, so the residual
        # stream stays bf16 there (CUDA's autocast runs LayerNorm in fp32 regardless).
        embedded = self.embed(segments)
        return self.embed_norm(embedded + self.enc_pos.to(embedded.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: (b, in_len, c) → forecast (b, out_len, c)."""
        check_input(x, self.cfg.in_len, self.cfg.n_series)
        x, stats = self.revin.normalize(x)
        # The memory embeds its windows as the input is embedded, instance norm included.
        enc = self.memory(self.embed_windows(x), self.embed_memory)  # (b, c, s, d)

        scales = [enc]
        for scale in self.encoder:
            scales.append(scale(scales[-1]))

        dec = self.dec_pos.to(enc.dtype).expand(enc.shape[0], -1, -1, -1)  # (b, c, s_out, d)
        forecast = 0
        for layer, memory in zip(self.decoder, scales, strict=True):
            dec, prediction = layer(dec, memory)
            # Summed in fp32 at least, also when the layers run in bf16.
            forecast = forecast + prediction.to(
                torch.promote_types(prediction.dtype, torch.float32)
            )
        out = rearrange(forecast, "b c s l -> b (s l) c")
        return self.revin.denormalize(out[:, : self.cfg.out_len], stats)

    def embed_memory(self, windows: torch.Tensor) -> torch.Tensor:
        """Memory windows (m, in_len, c) → embedded segments (m, c, s, d), each window
        normalised by its own statistics as an input window is."""
        return self.embed_windows(self.revin.normalize(windows)[0])
