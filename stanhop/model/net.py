"""STanHop-Net (Wu et al., ICLR 2024, https://arxiv.org/abs/2312.17346).

Each series is cut into segments of ``seg_len`` steps and embedded; a hierarchical
encoder of STanHop blocks works at ``e_layers`` scales, merging ``win_size`` segments
between scales; a decoder predicts the horizon from every scale and sums the predictions.

Targets and past covariates: the encoder and the decoder work on every input series, so
the covariates reach the targets' forecasts through the cross-series stage of every
STanHop block (encoder and decoder) and through the decoder's retrieval from the encoder;
only the forecast of the ``targets`` series is returned (a final selection). The
covariates' own decoder predictions are computed and discarded: they are not trained.

Future-known features (``n_future`` > 0: calendar features, covariates known in
advance): their values over the horizon, cut into the decoder's segments of ``seg_len``
steps, are projected to ``d_model`` and added to the decoder's positional patterns of
every series, segment by segment, so each output segment's queries know what is known
about its time.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from stanhop.model.blocks import DecoderLayer, EncoderScale, SegmentMerging, STanHopBlock
from stanhop.model.config import STanHopConfig
from stanhop.model.linear_path import LINEAR_PATHS
from stanhop.model.memory import build_memory
from stanhop.model.revin import build_revin
from stanhop.model.shapes import check_input
from stanhop.model.targets import check_future, select


class STanHopNet(nn.Module):
    """STanHop-Net forecaster: (b, in_len, c) history → (b, out_len, k) forecast of the
    ``k`` target series (``k = c`` without covariates)."""

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
        # Only with future features, and last, so a model without has neither the weights
        # nor a change in the initial values of the others.
        if cfg.n_future:
            self.future_embed = nn.Linear(cfg.seg_len * cfg.n_future, d)
        # Last, so a seed gives the network the same initial weights with or without it.
        self.linear_path = LINEAR_PATHS[cfg.linear_path](cfg.in_len, cfg.out_len, cfg.targets)

    def embed_future(self, future: torch.Tensor) -> torch.Tensor:
        """``future``: (b, out_len, f) → its addition to the decoder positions (b, 1, s_out, d),
        one per output segment, shared by every series."""
        pad = self.cfg.out_segments * self.cfg.seg_len - self.cfg.out_len
        if pad:
            # The horizon's last segment is cut by out_len: repeat its last known step.
            future = torch.cat([future, future[:, -1:].expand(-1, pad, -1)], dim=1)
        segments = rearrange(future, "b (s l) f -> b s (l f)", l=self.cfg.seg_len)
        return self.future_embed(segments)[:, None]

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

    def forward(self, x: torch.Tensor, future: torch.Tensor | None = None) -> torch.Tensor:
        """``x``: (b, in_len, c), ``future``: (b, out_len, f) with ``f = n_future`` (None
        without) → forecast (b, out_len, k) of the target series."""
        check_input(x, self.cfg.in_len, self.cfg.n_series)
        check_future(future, self.cfg.n_future, self.cfg.out_len)
        x, stats = self.revin.normalize(x)
        # The memory embeds its windows as the input is embedded, instance norm included.
        enc = self.memory(self.embed_windows(x), self.embed_memory)  # (b, c, s, d)

        scales = [enc]
        for scale in self.encoder:
            scales.append(scale(scales[-1]))

        dec = self.dec_pos.to(enc.dtype).expand(enc.shape[0], -1, -1, -1)  # (b, c, s_out, d)
        if future is not None:
            dec = dec + self.embed_future(future.to(enc.dtype)).to(enc.dtype)
        forecast = 0
        for layer, memory in zip(self.decoder, scales, strict=True):
            dec, prediction = layer(dec, memory)
            # Summed in fp32 at least, also when the layers run in bf16.
            forecast = forecast + prediction.to(
                torch.promote_types(prediction.dtype, torch.float32)
            )
        out = rearrange(forecast, "b c s l -> b (s l) c")
        out = self.linear_path(x, out[:, : self.cfg.out_len])  # (b, out_len, c)
        return select(self.revin.denormalize(out, stats), self.cfg.targets)

    def embed_memory(self, windows: torch.Tensor) -> torch.Tensor:
        """Memory windows (m, in_len, c) → embedded segments (m, c, s, d), each window
        normalised by its own statistics as an input window is."""
        return self.embed_windows(self.revin.normalize(windows)[0])
