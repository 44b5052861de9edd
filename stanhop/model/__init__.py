"""Forecasting models (plain ``torch.nn``), found by name in :data:`MODELS`."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from torch import nn

from stanhop.model.dlinear import DLinear, DLinearConfig
from stanhop.model.hopfield import (
    GATES,
    RETRIEVALS,
    HopfieldConfig,
    HopfieldLayer,
    HopfieldPooling,
    use_reference_path,
    use_reference_retrieval,
)
from stanhop.model.net import STanHopConfig, STanHopNet
from stanhop.model.normalizers import NORMALIZERS, Normalizer, build_normalizer

# name -> (config dataclass, module class taking that config)
MODELS: dict[str, tuple[type, type[nn.Module]]] = {
    "stanhop": (STanHopConfig, STanHopNet),
    "dlinear": (DLinearConfig, DLinear),
}


def build_model(spec: dict[str, Any]) -> nn.Module:
    """Build a model from a plain dict: ``name`` picks the entry of :data:`MODELS`, the
    other keys are its config's fields."""
    spec = dict(spec)
    name = spec.pop("name", None)
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    config_cls, model_cls = MODELS[name]
    known = {f.name for f in fields(config_cls)}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ValueError(
            f"model={name} has no option {', '.join(f'model.{k}' for k in unknown)}; "
            f"its options are {sorted(known)} (an experiment or debug config written for "
            "another model may have set it)"
        )
    return model_cls(config_cls(**spec))


__all__ = [
    "GATES",
    "MODELS",
    "NORMALIZERS",
    "RETRIEVALS",
    "DLinear",
    "DLinearConfig",
    "HopfieldConfig",
    "HopfieldLayer",
    "HopfieldPooling",
    "Normalizer",
    "STanHopConfig",
    "STanHopNet",
    "build_model",
    "build_normalizer",
    "use_reference_path",
    "use_reference_retrieval",
]
