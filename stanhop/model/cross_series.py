"""The cross-series retrieval of a STanHop block, found by name in :data:`CROSS_SERIES`.

Within one segment, every series retrieves from the others:

- ``full`` (the authors' block): every series retrieves from all series of its segment.
  Its scores grow with the square of the number of series ``c``.
- ``router`` (the two-stage attention of Crossformer, Zhang & Yan, ICLR 2023,
  https://openreview.net/forum?id=vSVLM2j9eie): ``p`` learned router patterns first
  retrieve from all series of a segment, then every series retrieves from what the
  routers gathered. Scores and memory grow linearly in ``c`` (2·p·c instead of c² per
  segment and head), for ``p`` patterns and two more Hopfield layers of parameters. As in
  the authors' pooling patterns, the routers are shared by all segments (Crossformer
  learns one set per segment) so that one block serves inputs of any length.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from stanhop.model.hopfield import HopfieldConfig, HopfieldLayer

# From this many series on, a run with the full stage says that the router exists: here
# the router's forward needs fewer floating-point operations than the full stage at the
# default and the published width alike, and the full stage's scores grow quadratically.
ROUTER_HINT_SERIES = 100


def full_cross_series(
    d_model: int, n_heads: int, n_patterns: int, cfg: HopfieldConfig, dropout: float
) -> HopfieldLayer:
    """Every series retrieves from all series of its segment: a plain Hopfield layer
    (``n_patterns`` unused), so checkpoints and outlier taps see one Hopfield layer."""
    return HopfieldLayer(d_model, n_heads, cfg, dropout)


class RouterCrossSeries(nn.Module):
    """``n_patterns`` learned routers gather from all stored series, then every state
    series retrieves from the routers: linear in the number of series."""

    def __init__(
        self, d_model: int, n_heads: int, n_patterns: int, cfg: HopfieldConfig, dropout: float
    ) -> None:
        super().__init__()
        # Unit scale like the LayerNorm-ed series they are compared with.
        self.routers = nn.Parameter(torch.randn(n_patterns, d_model))
        self.send = HopfieldLayer(d_model, n_heads, cfg, dropout)
        self.receive = HopfieldLayer(d_model, n_heads, cfg, dropout)

    def forward(self, state: torch.Tensor, stored: torch.Tensor) -> torch.Tensor:
        """``state``: (n, c, d), ``stored``: (n, c, d) → retrieved (n, c, d);
        n = batch × segments."""
        routers = self.routers.expand(stored.shape[0], -1, -1)  # (n, p, d)
        gathered = self.send(routers, stored)  # (n, p, d)
        return self.receive(state, gathered)  # (n, c, d)


def router_hint(spec: dict[str, Any]) -> str | None:
    """One line for a model ``spec`` with the full stage and many series: what
    ``cross_series=router`` would save; None otherwise."""
    c, p = spec.get("n_series", 0), spec.get("factor", 0)
    if spec.get("name") != "stanhop" or spec.get("cross_series", "full") != "full":
        return None
    if c < ROUTER_HINT_SERIES:
        return None
    return (
        f"{c} series: with model.cross_series=full every series retrieves from all {c} "
        f"({c}² scores per segment and head, growing with the square of the series); "
        f"model.cross_series=router ({p} routers) holds 2·{p}·{c}, {c / (2 * p):.0f}× fewer, "
        "and grows linearly (not the authors' block; docs/speed.md)"
    )


# name -> constructor(d_model, n_heads, n_patterns, hopfield config, dropout) of a module
# whose forward(state (n, c, d), stored (n, c, d)) -> (n, c, d) is the stage.
CROSS_SERIES: dict[str, Callable[..., nn.Module]] = {
    "full": full_cross_series,
    "router": RouterCrossSeries,
}
