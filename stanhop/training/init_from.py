"""Fine-tuning: a new run that starts from the weights of a trained model
(``init_from=CKPT``), its standardisation refit on the new data or kept
(``init_scaler=refit|keep``).

This differs from ``ckpt_path=`` (resuming): a resumed run continues the same run, with
its optimiser state, schedule, epoch, position in the data and random state; a run
``init_from`` a checkpoint takes nothing but the model's weights (and, with
``init_scaler=keep``, its scaler), and trains them afresh on its own data from epoch 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from stanhop.data import Scaler
from stanhop.files.checkpoint import load_checkpoint, model_weights
from stanhop.files.run_dir import best_checkpoint
from stanhop.model import build_model

INIT_SCALERS = ("refit", "keep")
# The model settings that come from the data settings (conf/model/*.yaml interpolates
# them); every other key of a model's spec is model.<key>, hopfield.<key> or memory.<key>.
FROM_DATA = {"in_len": "data.in_len", "out_len": "data.out_len"}


class InitialModel:
    """What a run ``init_from`` a checkpoint takes from it: the path, the model's weights
    and spec, its input series, targets, inputs known over the horizon and scaler."""

    def __init__(self, path: str | Path, init_scaler: str = "refit") -> None:
        if init_scaler not in INIT_SCALERS:
            raise ValueError(
                f"init_scaler={init_scaler!r}; use refit (fit the scaler on this run's "
                "training rows) or keep (the checkpoint's)"
            )
        self.path = best_checkpoint(path)
        checkpoint = load_checkpoint(self.path)
        hparams = checkpoint["hyper_parameters"]
        self.weights = model_weights(checkpoint["state_dict"])
        self.series_names = [str(s) for s in hparams["series_names"]]
        self.targets = [str(t) for t in hparams.get("targets") or self.series_names]
        self.calendar = [str(c) for c in hparams.get("calendar") or []]
        self.future = [str(f) for f in hparams.get("future") or []]
        self.spec = hparams["model"]
        self.scaler = Scaler.from_dict(hparams["scaler"]) if init_scaler == "keep" else None
        self.init_scaler = init_scaler

    def check_data(self, datamodule: Any) -> None:
        """A one-line ``ValueError`` unless the data has the checkpoint's series, targets,
        calendar features and future inputs, by name and in the same order (each series and
        each input known over the horizon has weights of its own)."""
        if list(datamodule.series_names) != self.series_names:
            raise ValueError(
                f"init_from={self.path}: the model was trained on the series "
                f"{', '.join(self.series_names)}, this data has "
                f"{', '.join(datamodule.series_names)}; give data with the same columns in "
                "the same order"
            )
        if list(datamodule.target_names) != self.targets:
            raise ValueError(
                f"init_from={self.path}: the model forecasts {', '.join(self.targets)}, "
                f"this run {', '.join(datamodule.target_names)}; set data.targets to match"
            )
        for setting, stored, own in (
            ("data.calendar", self.calendar, list(datamodule.calendar)),
            ("data.future", self.future, list(datamodule.future)),
        ):
            if stored != own:
                raise ValueError(
                    f"init_from={self.path}: the model reads {_listed(stored)} as "
                    f"{setting}, this run {_listed(own)}; set {setting}={_listed(stored)}"
                )

    def load_into(self, model: nn.Module, spec: Mapping[str, Any]) -> None:
        """Copy the stored weights into ``model``, built from ``spec``; a one-line
        ``ValueError`` when they do not fit it, naming the settings in which this run's
        model differs from the checkpoint's (``data.in_len 96 vs 48``)."""
        own = model.state_dict()
        if own.keys() == self.weights.keys() and all(
            own[key].shape == self.weights[key].shape for key in own
        ):
            model.load_state_dict(self.weights)
            return
        differing = _described(self.spec, spec)
        if not differing:  # the same settings: a model whose code changed since
            raise ValueError(
                f"init_from={self.path}: its weights do not fit this run's model of the same "
                "settings (written by another stanhop version); retrain the checkpoint"
            )
        raise ValueError(
            f"init_from={self.path}: its weights do not fit this run's model, which differs "
            f"in {', '.join(differing)} (the checkpoint's vs this run's); set them as the "
            "checkpoint's run did"
        )


def _listed(names: list[str]) -> str:
    return "[" + ",".join(names) + "]"


def _flat(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A model spec as the settings that choose it: its keys, and those of the groups in
    it as ``hopfield.normalizer`` (a group's own mappings, such as its
    ``normalizer_kwargs``, are one setting)."""
    flat: dict[str, Any] = {}
    for key, value in spec.items():
        if isinstance(value, Mapping):
            flat |= {f"{key}.{inner}": v for inner, v in value.items()}
        else:
            flat[key] = value
    return flat


def _setting(key: str) -> str:
    """The setting a run chooses a spec's dotted ``key`` with."""
    if key in FROM_DATA:
        return FROM_DATA[key]
    return key if key.startswith(("hopfield.", "memory.")) else f"model.{key}"


def _shapes(spec: Mapping[str, Any]) -> dict[str, tuple[int, ...]] | None:
    """The weight shapes of the model built from ``spec``; None when it cannot be built."""
    try:
        return {k: tuple(v.shape) for k, v in build_model(dict(spec)).state_dict().items()}
    except (ValueError, TypeError):
        return None


def _with(spec: Mapping[str, Any], key: str, value: Any) -> dict[str, Any]:
    """A copy of ``spec`` with the setting ``key`` (see :func:`_flat`) set to ``value``."""
    group, _, inner = key.partition(".")
    if not inner:
        return {**spec, key: value}
    return {**spec, group: {**(spec.get(group) or {}), inner: value}}


def _shape_settings(stored: Mapping[str, Any], own: Mapping[str, Any]) -> list[str]:
    """The dotted keys in which the spec ``own`` differs from ``stored`` and that change
    the weights' shapes (each found by building ``stored`` with that one key as ``own``
    has it); every differing key when no single one does (keys that only together change
    them)."""
    theirs, ours = _flat(stored), _flat(own)
    differing = [k for k in sorted(set(theirs) | set(ours)) if theirs.get(k) != ours.get(k)]
    shapes = _shapes(stored)
    changing = [k for k in differing if _shapes(_with(stored, k, ours.get(k))) != shapes]
    return changing or differing


def _described(stored: Mapping[str, Any], own: Mapping[str, Any]) -> list[str]:
    """The settings of :func:`_shape_settings` as a user sets them, with the checkpoint's
    value and this run's (``data.in_len 48 vs 96``); the settings of a group chosen by
    another option (``hopfield=softmax``) as that choice (``hopfield softmax1 vs
    softmax``)."""
    theirs, ours = _flat(stored), _flat(own)
    described: dict[str, str] = {}
    for key in _shape_settings(stored, own):
        group = key.partition(".")[0]
        name = f"{group}.name"
        if "." in key and theirs.get(name) != ours.get(name):
            described[group] = f"{group} {theirs.get(name)} vs {ours.get(name)}"
        else:
            described[key] = f"{_setting(key)} {theirs.get(key)} vs {ours.get(key)}"
    return list(described.values())
