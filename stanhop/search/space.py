"""A search space file (the packaged ``stanhop/search/spaces/MODEL.yaml``, a user's
``search/MODEL.yaml`` or any other): which model it is for, the Optuna sampler
and pruner, and the range of every searched setting, read into a :class:`SearchSpace`.

A setting is named by its Hydra key and given a ``type``::

    optimizer.lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
    model.e_layers: {type: int, low: 1, high: 3}
    model.d_model: {type: categorical, choices: [32, 64, 128]}
    model.d_ff: {type: multiple, of: model.d_model, by: 2}   # derived, not searched

A trial's settings become Hydra overrides (``optimizer.lr=0.00123``), so every setting of
the training configuration can be searched and nothing else can.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import yaml
from hydra.utils import instantiate
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

# The packaged search spaces, one per model (package data, found wherever it is installed).
SPACES_DIR = Path(__file__).resolve().parent / "spaces"
TYPES = ("float", "int", "categorical", "multiple")


class SearchSpaceError(ValueError):
    """A search space file that cannot be used, in one line naming the file and the key."""


@dataclass(frozen=True)
class SearchSpace:
    """The searched settings of one model: ``distributions`` (Hydra key → Optuna
    distribution), ``derived`` (key → (the searched key, factor): a setting that is a
    multiple of a searched one) and the ``sampler`` and ``pruner`` configs (Hydra
    ``_target_`` mappings)."""

    path: Path
    model: str
    distributions: dict[str, BaseDistribution]
    derived: dict[str, tuple[str, int | float]]
    sampler: dict[str, Any]
    pruner: dict[str, Any]

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Draw a value for every searched setting through ``trial``."""
        return {key: _suggest(trial, key, dist) for key, dist in self.distributions.items()}

    def settings(self, params: dict[str, Any]) -> dict[str, Any]:
        """A trial's ``params`` with the derived settings added, in file order."""
        derived = {key: params[of] * by for key, (of, by) in self.derived.items()}
        return {**params, **derived}

    def overrides(self, params: dict[str, Any]) -> list[str]:
        """The Hydra overrides that set a trial's ``params`` (and the derived settings)."""
        return [f"{key}={_hydra_value(value)}" for key, value in self.settings(params).items()]

    def example_overrides(self) -> list[str]:
        """Overrides with one admissible value per setting, to check the keys exist."""
        return self.overrides({key: _example(dist) for key, dist in self.distributions.items()})

    def make_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        return instantiate(self.sampler, seed=seed)

    def make_pruner(self) -> optuna.pruners.BasePruner:
        return instantiate(self.pruner)

    def describe(self) -> dict[str, Any]:
        """The space as plain data: two searches share a study only if these are equal."""
        return {
            "model": self.model,
            "params": {
                key: optuna.distributions.distribution_to_json(dist)
                for key, dist in self.distributions.items()
            },
            "derived": {k: list(v) for k, v in self.derived.items()},
            "sampler": self.sampler,
            "pruner": self.pruner,
        }


def _suggest(trial: optuna.Trial, key: str, dist: BaseDistribution) -> Any:
    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(key, dist.choices)
    suggest = trial.suggest_int if isinstance(dist, IntDistribution) else trial.suggest_float
    return suggest(key, dist.low, dist.high, step=dist.step, log=dist.log)


def _hydra_value(value: Any) -> str:
    """``value`` as Hydra's override grammar reads it back to the same value."""
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _example(dist: BaseDistribution) -> Any:
    if isinstance(dist, CategoricalDistribution):
        return dist.choices[0]
    return dist.low


def load_space(path: Path) -> SearchSpace:
    """Read and check a search space file; a :class:`SearchSpaceError` says what is wrong."""
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise SearchSpaceError(f"search file {path}: no such file") from None
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        line = f" (line {where.line + 1})" if where else ""
        raise SearchSpaceError(f"search file {path}: not valid YAML{line}") from None
    if not isinstance(raw, dict):
        raise SearchSpaceError(f"search file {path}: expected a mapping with model and params")
    unknown = set(raw) - {"model", "sampler", "pruner", "params"}
    if unknown:
        raise SearchSpaceError(
            f"search file {path}: unknown key {sorted(unknown)[0]!r}; the keys are model, "
            "sampler, pruner and params"
        )
    model = raw.get("model")
    if not isinstance(model, str):
        raise SearchSpaceError(
            f"search file {path}: give the model it searches, e.g. model: dlinear"
        )
    params = raw.get("params")
    if not isinstance(params, dict) or not params:
        raise SearchSpaceError(f"search file {path}: params must map settings to their ranges")
    distributions: dict[str, BaseDistribution] = {}
    derived: dict[str, tuple[str, int | float]] = {}
    for key, spec in params.items():
        where = f"search file {path}: params.{key}"
        if not isinstance(spec, dict) or spec.get("type") not in TYPES:
            raise SearchSpaceError(f"{where}: give a type, one of {', '.join(TYPES)}")
        if spec["type"] == "multiple":
            derived[key] = (spec.get("of"), spec.get("by"))
        else:
            distributions[key] = _distribution(spec, where)
    for key, (of, by) in derived.items():
        if of not in distributions or isinstance(by, bool) or not isinstance(by, int | float):
            raise SearchSpaceError(
                f"search file {path}: params.{key}: a multiple needs of: (a searched "
                "setting) and by: (a number)"
            )
    return SearchSpace(
        path=path,
        model=model,
        distributions=distributions,
        derived=derived,
        sampler=_component(raw, "sampler", path, {"_target_": "optuna.samplers.TPESampler"}),
        pruner=_component(raw, "pruner", path, {"_target_": "optuna.pruners.MedianPruner"}),
    )


def _component(raw: dict[str, Any], key: str, path: Path, default: dict[str, Any]) -> dict:
    value = raw.get(key, default)
    if not isinstance(value, dict) or not str(value.get("_target_", "")).startswith("optuna."):
        raise SearchSpaceError(
            f"search file {path}: {key} must be a mapping with _target_: optuna.{key}s.<class>"
        )
    # A sampler is made with the search's seed (SearchSpace.make_sampler): any stands in.
    options = {"seed": 0} if key == "sampler" else {}
    _check_component(dict(value), f"search file {path}: {key}", options)
    return dict(value)


def _check_component(config: dict[str, Any], where: str, options: dict[str, Any]) -> None:
    """Make the sampler or pruner ``config`` names once, so that a misspelt class or
    option stops the command before the study folder is created."""
    target = str(config["_target_"])
    module_name, _, name = target.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        module = None
    if module is None or not isinstance(getattr(module, name, None), type):
        names = [n for n in dir(module) if n[:1].isupper()] if module is not None else []
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        hint = f"did you mean {module_name}.{close[0]}?" if close else "check its spelling"
        raise SearchSpaceError(f"{where}: no class {target}; {hint}")
    try:
        instantiate(config, **options)
    except Exception as err:  # Hydra wraps the class's own error (an unknown option…)
        cause = err.__cause__ or err
        raise SearchSpaceError(
            f"{where}: {target} refuses its options ({str(cause).splitlines()[0]}); check "
            "them against Optuna's documentation of the class"
        ) from None


def _distribution(spec: dict[str, Any], where: str) -> BaseDistribution:
    kind = spec["type"]
    try:
        if kind == "categorical":
            choices = spec.get("choices")
            if not isinstance(choices, list) or not choices:
                raise SearchSpaceError(f"{where}: a categorical needs a non-empty choices list")
            return CategoricalDistribution(choices)
        extra = set(spec) - {"type", "low", "high", "log", "step"}
        if extra:
            raise SearchSpaceError(f"{where}: unknown option {sorted(extra)[0]!r}")
        cls, number = (FloatDistribution, float) if kind == "float" else (IntDistribution, int)
        low, high = spec.get("low"), spec.get("high")
        if not (isinstance(low, int | float) and isinstance(high, int | float)):
            raise SearchSpaceError(f"{where}: a {kind} needs numbers low and high")
        if kind == "int" and not (float(low).is_integer() and float(high).is_integer()):
            raise SearchSpaceError(f"{where}: an int needs whole numbers low and high")
        options = {k: spec[k] for k in ("log", "step") if k in spec}
        return cls(number(low), number(high), **options)
    except (TypeError, ValueError) as err:
        if isinstance(err, SearchSpaceError):
            raise
        raise SearchSpaceError(f"{where}: {str(err).splitlines()[0]}") from None
