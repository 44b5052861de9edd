"""The config types of STanHop-Net: :class:`STanHopConfig` and the :class:`MemoryConfig`
it holds (with :class:`~stanhop.model.hopfield.HopfieldConfig`). They check names against
the tables of the modules they import (cross-series stages, memories); the modules that
build the network (blocks, net) import them from here.

The defaults are those of ``conf/model/stanhop.yaml`` (a test holds the two equal).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from stanhop.model.cross_series import CROSS_SERIES
from stanhop.model.hopfield import HopfieldConfig
from stanhop.model.linear_path import LINEAR_PATHS
from stanhop.model.memory import MEMORIES
from stanhop.model.targets import check_targets, n_targets


@dataclass
class MemoryConfig:
    """Which memory a model has: ``name`` in :data:`MEMORIES` and ``size``, the number of
    windows ``K`` (the bank size of ``tune_and_play``; the number sampled by default for
    ``plug_and_play``, whose buffer takes whatever number of windows it is given)."""

    name: str = "none"
    size: int = 64

    def __post_init__(self) -> None:
        if self.name not in MEMORIES:
            raise ValueError(f"unknown memory {self.name!r}; choose one of {sorted(MEMORIES)}")
        if self.size < 1:
            raise ValueError(f"memory.size must be at least 1, got {self.size}")


# The segment of a model whose data frequency is not known.
DEFAULT_SEGMENT = 12


@dataclass
class STanHopConfig:
    """Shape and width of a STanHop-Net; every field is a plain type so it serialises."""

    n_series: int
    in_len: int
    out_len: int
    # Steps per segment; "auto": the segment of the data's frequency, which training
    # resolves (stanhop.data.freq.segment_length), else DEFAULT_SEGMENT (at most in_len).
    seg_len: int | str = "auto"
    win_size: int = 2
    factor: int = 10  # pooling patterns of the cross-series stage (the reference's "router")
    # How series retrieve from each other: "full" (the authors' block, quadratic in the
    # number of series) or "router" (linear; stanhop.model.cross_series).
    cross_series: str = "full"
    # d_model 128 at one scale: chosen on validation MSE over d_model 64 at two scales
    # (bench/RESULTS.md, "Choosing the defaults: the width").
    d_model: int = 128
    d_ff: int = 256
    n_heads: int = 4
    e_layers: int = 1
    dropout: float = 0.2
    # Reversible instance normalisation around the network (stanhop.model.revin); on, as it
    # lowered the validation MSE of ETTh1 h24 (bench/RESULTS.md, "Choosing the defaults").
    revin: bool = True
    revin_affine: bool = False
    # The series forecast (indices of the inputs); null: all. The others are past covariates.
    targets: list[int] | None = None
    # Features known over the horizon (calendar, future covariates), given to the decoder.
    n_future: int = 0
    # A linear base forecast the network corrects: "none" or "dlinear"
    # (stanhop.model.linear_path).
    linear_path: str = "none"
    hopfield: HopfieldConfig = field(default_factory=HopfieldConfig)
    memory: MemoryConfig = field(default_factory=MemoryConfig)

    def __post_init__(self) -> None:
        if isinstance(self.hopfield, dict):
            self.hopfield = HopfieldConfig(**self.hopfield)
        if isinstance(self.memory, dict):
            self.memory = MemoryConfig(**self.memory)
        if self.seg_len == "auto":
            self.seg_len = min(DEFAULT_SEGMENT, self.in_len)
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
        if self.linear_path not in LINEAR_PATHS:
            raise ValueError(
                f"unknown model.linear_path {self.linear_path!r}; choose one of "
                f"{sorted(LINEAR_PATHS)}"
            )
        if self.d_model % self.n_heads:
            raise ValueError(
                f"model.d_model ({self.d_model}) must be divisible by "
                f"model.n_heads ({self.n_heads})"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"model.dropout must lie in [0, 1), got {self.dropout}")
        self.targets = check_targets(self.targets, self.n_series)
        # Merging pads a scale's segments with copies of its last ones: it needs as many
        # as it pads (SegmentMerging), or the merge cannot be cut into windows.
        segments = self.in_segments
        for scale in range(2, self.e_layers + 1):
            if self.win_size > 1 and -segments % self.win_size > segments:
                raise ValueError(
                    f"model.e_layers={self.e_layers}: scale {scale} would merge {segments} "
                    f"segment(s) in windows of model.win_size={self.win_size}; use fewer "
                    "scales, a smaller win_size or more segments (data.in_len / model.seg_len)"
                )
            segments = math.ceil(segments / self.win_size) if self.win_size > 1 else segments

    @property
    def n_targets(self) -> int:
        return n_targets(self.targets, self.n_series)

    @property
    def in_segments(self) -> int:
        return math.ceil(self.in_len / self.seg_len)

    @property
    def out_segments(self) -> int:
        return math.ceil(self.out_len / self.seg_len)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
