"""One source for every setting: where a packaged config file gives a setting to one of
stanhop's own classes or functions (``_target_``), its value is the default that the
class or function has in the code, key by key, so a run built from Python without Hydra
runs as the same run from the command line."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
from omegaconf import OmegaConf

from stanhop.training.compose import CONF_DIR

# Groups that choose something other than a default: overrides of other groups
# (experiment, debug…), and the model's own (its config types, checked with the model).
NOT_DEFAULTS = {"experiment", "debug", "debug_model", "model", "hopfield", "memory"}


def targets_in(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every mapping with a ``_target_`` of stanhop's below ``node``, with where it is."""
    if isinstance(node, Mapping):
        if str(node.get("_target_", "")).startswith("stanhop."):
            yield where, dict(node)
        for key, value in node.items():
            yield from targets_in(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from targets_in(value, f"{where}[{i}]")


def plain(value: Any) -> Any:
    """A default as a config file writes it: lists for sequences, dicts for mappings."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [plain(v) for v in value]
    return value


def settings_with_defaults() -> list[tuple[str, str, Any, Any]]:
    found = []
    for path in sorted(CONF_DIR.rglob("*.yaml")):
        group = path.relative_to(CONF_DIR).parts[0]
        if group in NOT_DEFAULTS:
            continue
        raw = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
        for where, node in targets_in(raw, path.relative_to(CONF_DIR).as_posix()):
            module, _, name = node["_target_"].rpartition(".")
            parameters = inspect.signature(getattr(importlib.import_module(module), name))
            for key, value in node.items():
                parameter = parameters.parameters.get(key)
                if (
                    key.startswith("_")
                    or parameter is None
                    or parameter.default is inspect.Parameter.empty
                    or "${" in str(value)  # chosen from another setting
                ):
                    continue
                found.append((f"{where}.{key}", node["_target_"], value, parameter.default))
    return found


SETTINGS = settings_with_defaults()


def test_the_data_and_callback_settings_are_compared() -> None:
    compared = {where.split("/")[0] for where, *_ in SETTINGS}
    assert {"data", "callbacks"} <= compared
    assert any(where.endswith("eval_batch_size") for where, *_ in SETTINGS)


@pytest.mark.parametrize(
    ("where", "target", "value", "default"), SETTINGS, ids=[where for where, *_ in SETTINGS]
)
def test_a_config_files_value_is_the_codes_default(
    where: str, target: str, value: Any, default: Any
) -> None:
    assert value == plain(default), f"{where}: {value!r} here, {default!r} in {target}"
