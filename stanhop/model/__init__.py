"""Forecasting models (plain ``torch.nn``), found by name in :data:`MODELS`.

A model is described by its config dataclass; ``conf/model/*.yaml`` instantiates one with
:func:`model_config`, checkpoints store it as the plain dict of :func:`model_spec`, and
:func:`build_model` builds the model from that dict. What a model supports is a class
attribute (``supports_memory``), read by the trainer instead of inspecting the model.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from torch import nn

from stanhop.model.config import STanHopConfig
from stanhop.model.dlinear import DLinear, DLinearConfig
from stanhop.model.gates import GATES
from stanhop.model.hopfield import (
    HopfieldConfig,
    HopfieldLayer,
    HopfieldPooling,
    use_reference_path,
    use_reference_retrieval,
)
from stanhop.model.net import STanHopNet
from stanhop.model.normalizers import NORMALIZERS, Normalizer, build_normalizer
from stanhop.model.retrieval import RETRIEVALS

# name -> (config dataclass, module class taking that config)
MODELS: dict[str, tuple[type, type[nn.Module]]] = {
    "stanhop": (STanHopConfig, STanHopNet),
    "dlinear": (DLinearConfig, DLinear),
}


def model_config(name: str, **options: Any) -> Any:
    """The config of model ``name`` (an entry of :data:`MODELS`) with ``options`` as its
    fields: the ``_target_`` of ``conf/model/*.yaml``. Unknown names and options are
    one-line ``ValueError``s."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    config_cls, _ = MODELS[name]
    known = {f.name for f in fields(config_cls)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(
            f"model={name} has no option {', '.join(f'model.{k}' for k in unknown)}; "
            f"its options are {sorted(known)} (an experiment or debug config written for "
            "another model may have set it)"
        )
    return config_cls(**options)


def model_class(name: str) -> type[nn.Module]:
    """The module class of model ``name``, whose class attributes say what it supports."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    return MODELS[name][1]


def model_spec(config: Any) -> dict[str, Any]:
    """A model config as the plain dict checkpoints store: its model's ``name`` and its
    fields (nested configs as dicts)."""
    for name, (config_cls, _) in MODELS.items():
        if type(config) is config_cls:
            return {"name": name, **config.to_dict()}
    raise TypeError(f"{type(config).__name__} is not the config of a model in MODELS")


def build_model(spec: dict[str, Any]) -> nn.Module:
    """Build a model from a plain dict (:func:`model_spec`): ``name`` picks the entry of
    :data:`MODELS`, the other keys are its config's fields."""
    spec = dict(spec)
    name = spec.pop("name", None)
    config = model_config(name, **spec)  # checks the name and options first
    return model_class(name)(config)


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
    "model_class",
    "model_config",
    "model_spec",
    "use_reference_path",
    "use_reference_retrieval",
]
