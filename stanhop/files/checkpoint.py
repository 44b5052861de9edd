"""The checkpoint file: written by Lightning during training, read back for forecasts.

Everything in a stanhop checkpoint is a tensor or a plain Python value (``None``, bool,
int, float, str, and lists, tuples, sets and dicts of them), so
``torch.load(path, weights_only=True)`` reads it without unpickling arbitrary objects —
which could run code. ``hyper_parameters`` holds all a forecast needs besides the
weights: ``model`` (the spec for :func:`stanhop.model.build_model`), ``scaler`` (per-series
``mean`` and ``std``), ``series_names`` (the model's inputs), ``targets`` (those it
forecasts) and ``covariates`` (the others), ``freq`` and ``last_train_timestamp``. The
optional top-level ``intervals`` holds the calibrated prediction intervals.
"""

from __future__ import annotations

import pickle
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import torch

from stanhop.files.atomic import atomic_open

# Bumped when the layout of hyper_parameters, or the meaning of a model's weights, changes
# in a way old readers cannot follow. Format 2: STanHop-Net follows the authors' block
# (one LayerNorm per block, pooling over learned patterns, values from the keys); its
# weights of format 1 would load into the wrong places.
FORMAT_KEY = "stanhop_format"
FORMAT = 2
STANHOP_SINCE = 2
REQUIRED_HPARAMS = ("model", "scaler", "series_names")
# Lightning's marker of OmegaConf hyperparameters: a class, which make_plain makes moot.
_HPARAMS_TYPE_KEYS = ("hparams_type", "datamodule_hparams_type")
_ZIP_MAGIC = b"PK\x03\x04"  # torch.save writes a zip archive
_ATOMS = (type(None), bool, int, float, complex, str, bytes, torch.dtype, torch.device)

# LitForecaster holds the plain model as its attribute ``model``, so the model's weights
# are the entries of a checkpoint's ``state_dict`` under this prefix.
MODEL_PREFIX = "model."


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable or not a stanhop checkpoint, described in
    one line that names the file and says what to do."""


def to_plain(obj: Any, where: str = "checkpoint") -> Any:
    """``obj`` with every value a tensor or a plain Python value: numpy arrays become
    tensors, numpy scalars and subclasses of built-in types (enums, OmegaConf containers,
    named tuples) their plain counterparts, paths strings. Containers that are already
    plain are returned as they are (a ``state_dict`` keeps its metadata).

    Raises ``TypeError`` naming the entry (``where``) for any other object, because
    ``torch.load(weights_only=True)`` could not read it back.
    """
    if isinstance(obj, torch.Tensor) or type(obj) in _ATOMS or type(obj) is torch.Size:
        return obj
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(obj))
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, PurePath):
        return str(obj)
    for base in (bool, int, float, str, bytes):
        if isinstance(obj, base):
            return base(obj)
    if isinstance(obj, Mapping):
        items = [(to_plain(k, where), to_plain(v, f"{where}/{k}")) for k, v in obj.items()]
        pairs = zip(obj.items(), items, strict=True)
        kept = all(k is k2 and v is v2 for (k, v), (k2, v2) in pairs)
        if type(obj) in (dict, OrderedDict) and kept:
            return obj
        return OrderedDict(items) if isinstance(obj, OrderedDict) else dict(items)
    if isinstance(obj, (Sequence, set, frozenset)):
        values = [to_plain(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        kept = all(a is b for a, b in zip(obj, values, strict=True))
        if type(obj) in (list, tuple, set) and kept:
            return obj
        if isinstance(obj, tuple):
            return tuple(values)
        return set(values) if isinstance(obj, (set, frozenset)) else values
    raise TypeError(
        f"{where} holds a {type(obj).__module__}.{type(obj).__qualname__}, which "
        "torch.load(weights_only=True) cannot read; store tensors and plain Python values "
        "in checkpoints"
    )


def make_plain(checkpoint: dict[str, Any]) -> None:
    """Turn a checkpoint, in place, into tensors and plain values and stamp its format;
    for ``LightningModule.on_save_checkpoint``, which Lightning calls last."""
    for key in _HPARAMS_TYPE_KEYS:
        checkpoint.pop(key, None)
    for key, value in checkpoint.items():
        checkpoint[key] = to_plain(value, key)
    checkpoint[FORMAT_KEY] = FORMAT


def model_weights(state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """The plain model's weights in a checkpoint's ``state_dict`` (LitForecaster's
    ``model.`` entries, prefix removed), ready for the model's ``load_state_dict``."""
    return {
        key.removeprefix(MODEL_PREFIX): value
        for key, value in state_dict.items()
        if key.startswith(MODEL_PREFIX)
    }


def load_checkpoint(path: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """Read a stanhop checkpoint with ``weights_only=True``, its tensors moved by
    ``map_location`` (``"cpu"`` reads a GPU-trained checkpoint on a machine without one).

    Raises :class:`CheckpointError` when the file is missing, empty, not a PyTorch
    checkpoint, truncated or corrupt, holds pickled objects, or lacks what a forecast
    needs.
    """
    path = Path(path)
    _check_file(path)
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r"GLOBAL ([\w.]+)", str(err))
        what = f" such as {found.group(1)}" if found else ""
        raise CheckpointError(
            f"{path}: holds pickled Python objects{what}, which are not loaded because "
            "unpickling can run code; use a checkpoint written by stanhop's train.py"
        ) from err
    except Exception as err:  # any failure to decode the archive means a damaged file
        reason = " ".join(str(err).split()).split(". ")[0] or type(err).__name__
        raise CheckpointError(
            f"{path}: cannot be read, the file is truncated or corrupt ({reason}); copy it "
            "again, or use another checkpoint of the run (e.g. last.ckpt)"
        ) from err
    _check_contents(checkpoint, path)
    return checkpoint


def _check_file(path: Path) -> None:
    if path.is_dir():
        raise CheckpointError(
            f"{path}: is a folder; give the checkpoint file in it, e.g. "
            f"{path / 'checkpoints' / 'best.ckpt'} in a run folder"
        )
    if not path.is_file():
        raise CheckpointError(
            f"{path}: checkpoint not found; give the .ckpt file a training run wrote, e.g. "
            "outputs/DATE/TIME/checkpoints/best.ckpt"
        )
    with path.open("rb") as f:
        head = f.read(len(_ZIP_MAGIC))
    if not head:
        raise CheckpointError(f"{path}: the checkpoint file is empty; use another checkpoint")
    if head != _ZIP_MAGIC:
        raise CheckpointError(
            f"{path}: not a PyTorch checkpoint (torch.save writes a zip archive, this file is "
            "not one); give the .ckpt file a training run wrote"
        )


def _check_contents(checkpoint: Any, path: Path) -> None:
    hparams = checkpoint.get("hyper_parameters") if isinstance(checkpoint, dict) else None
    lacking = [
        key for key in REQUIRED_HPARAMS if not isinstance(hparams, dict) or key not in hparams
    ]
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("state_dict"), dict):
        lacking.insert(0, "state_dict")
    if lacking:
        raise CheckpointError(
            f"{path}: not a stanhop checkpoint (it has no {', '.join(lacking)}); give a "
            "checkpoint written by stanhop's train.py"
        )
    version = checkpoint.get(FORMAT_KEY, 1)
    if not isinstance(version, int) or version > FORMAT:
        raise CheckpointError(
            f"{path}: written in checkpoint format {version!r}, newer than this stanhop "
            f"reads ({FORMAT}); upgrade stanhop"
        )
    model = hparams["model"]
    if version < STANHOP_SINCE and isinstance(model, dict) and model.get("name") == "stanhop":
        raise CheckpointError(
            f"{path}: a STanHop-Net of checkpoint format {version}, whose block layout this "
            "stanhop no longer builds; retrain it with this version (DLinear checkpoints "
            "still load)"
        )


# The prediction intervals a training run calibrated (see stanhop.measures.conformal),
# a top-level entry: checkpoints written before them simply lack it.
INTERVALS_KEY = "intervals"


def add_to_checkpoint(path: Path, key: str, value: Any) -> None:
    """Set the top-level entry ``key`` of the checkpoint file ``path`` to ``value``
    (tensors and plain values), rewriting the file atomically."""
    checkpoint = load_checkpoint(path)
    checkpoint[key] = to_plain(value, key)
    with atomic_open(path, "wb") as f:
        torch.save(checkpoint, f)
