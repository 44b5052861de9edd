"""Forecasting models (plain ``torch.nn``), found by name in :data:`MODELS`."""

from __future__ import annotations

from typing import Any

from torch import nn

from stanhop.model.hopfield import GATES, HopfieldConfig, HopfieldLayer, HopfieldPooling
from stanhop.model.net import STanHopConfig, STanHopNet
from stanhop.model.normalizers import NORMALIZERS, build_normalizer

# name -> (config dataclass, module class taking that config)
MODELS: dict[str, tuple[type, type[nn.Module]]] = {
    "stanhop": (STanHopConfig, STanHopNet),
}


def build_model(spec: dict[str, Any]) -> nn.Module:
    """Build a model from a plain dict: ``name`` picks the entry of :data:`MODELS`, the
    other keys are its config's fields."""
    spec = dict(spec)
    name = spec.pop("name", None)
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    config_cls, model_cls = MODELS[name]
    return model_cls(config_cls(**spec))


__all__ = [
    "GATES",
    "MODELS",
    "NORMALIZERS",
    "HopfieldConfig",
    "HopfieldLayer",
    "HopfieldPooling",
    "STanHopConfig",
    "STanHopNet",
    "build_model",
    "build_normalizer",
]
