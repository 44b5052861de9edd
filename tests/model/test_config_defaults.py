"""conf/model/stanhop.yaml and the STanHopConfig dataclass carry the same defaults."""

from dataclasses import MISSING, fields
from importlib import resources
from typing import Any

from omegaconf import DictConfig, OmegaConf

from stanhop.model import MODELS, STanHopConfig


def dataclass_defaults(cls: type) -> dict[str, Any]:
    """Every field of ``cls`` that has a default, nested configs as their own defaults."""
    out: dict[str, Any] = {}
    for f in fields(cls):
        if f.default is not MISSING:
            out[f.name] = f.default
        elif f.default_factory is not MISSING:
            out[f.name] = f.default_factory()
    return out


def compare_defaults(yaml: DictConfig, defaults: dict[str, Any], where: str) -> list[str]:
    """Compare every key of ``yaml`` that sets a value (not Hydra's ``_target_``-style
    keys, not an interpolation of another group) with ``defaults``; the keys compared."""
    compared = []
    for key in yaml:
        if key.startswith("_") or OmegaConf.is_interpolation(yaml, key):
            continue
        value = yaml[key]
        if isinstance(value, DictConfig):
            compared += compare_defaults(value, vars(defaults[key]), f"{where}{key}.")
            continue
        assert key in defaults, f"{where}{key} has no default in the dataclass"
        assert value == defaults[key], f"{where}{key}: yaml {value!r}, dataclass {defaults[key]!r}"
        compared.append(f"{where}{key}")
    return compared


def test_every_value_of_the_model_yaml_is_the_dataclass_default() -> None:
    text = resources.files("stanhop.conf").joinpath("model/stanhop.yaml").read_text()
    yaml = OmegaConf.create(text)
    assert MODELS[yaml.pop("name")][0] is STanHopConfig
    compared = compare_defaults(yaml, dataclass_defaults(STanHopConfig), "model.")
    assert {"model.d_model", "model.e_layers", "model.revin"} <= set(compared)
