"""How Lightning reads and writes stanhop's checkpoints while training: atomically, only
as tensors and plain values, and with no path that leads out of the checkpoint's folder.

A checkpoint is written to a temporary file and renamed into place, so killing a run at
any moment leaves the previous ``last.ckpt`` whole. Reading — to resume a run, or to
validate and test the best checkpoint — goes through
:func:`stanhop.files.checkpoint.load_checkpoint` (``weights_only=True``, one-line errors for
damaged, pickled or foreign files).

Lightning's ``ModelCheckpoint`` keeps in every checkpoint the folder it writes to and the
path of the best checkpoint, which train() then validates, tests and writes the interval
calibration into. Stored absolute, they would send a copied or moved run folder, resumed
with ``ckpt_path=last``, to the run it was copied from. So the paths below the
checkpoint's own folder are stored relative to it and joined to the folder the file is
read from.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from stanhop.files.atomic import atomic_open
from stanhop.files.checkpoint import load_checkpoint

# The entries of ModelCheckpoint's state that hold a path; best_k_models maps paths to
# scores.
PATH_KEYS = ("dirpath", "best_model_path", "kth_best_model_path", "last_model_path")
BEST_K = "best_k_models"


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint I/O with an atomic save, a weights-only, checked load, and
    ``ModelCheckpoint``'s paths kept relative to the checkpoint's folder."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None
    ) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        checkpoint = _with_paths(checkpoint, _folder(path), _relative)
        with atomic_open(path, "wb") as f:
            torch.save(checkpoint, f)

    def load_checkpoint(
        self, path: str | Path, map_location: Any = "cpu", weights_only: bool | None = None
    ) -> dict[str, Any]:
        if weights_only is False:
            raise ValueError(f"{path}: stanhop never loads checkpoints with weights_only=False")
        checkpoint = load_checkpoint(path, map_location=map_location)
        folder = _folder(Path(path))
        return _with_paths(checkpoint, folder, _rerooted(checkpoint, folder))


def _folder(path: Path) -> Path:
    """The folder of the checkpoint file ``path``, as ModelCheckpoint names folders (it
    resolves its ``dirpath`` with ``os.path.realpath``), so that paths compare equal."""
    return Path(os.path.realpath(path)).parent


def _checkpoint_states(checkpoint: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The callback states of ``checkpoint`` that are ModelCheckpoint's (or a subclass's):
    those with a ``dirpath`` and ``best_k_models``."""
    return {
        key: state
        for key, state in (checkpoint.get("callbacks") or {}).items()
        if isinstance(state, dict) and "dirpath" in state and BEST_K in state
    }


def _with_paths(checkpoint: dict[str, Any], folder: Path, convert: Any) -> dict[str, Any]:
    """``checkpoint`` with every path of its ModelCheckpoint states passed through
    ``convert(path, folder)``; new dicts, since a state's ``best_k_models`` is the
    callback's own."""
    states = _checkpoint_states(checkpoint)
    if not states:
        return checkpoint
    callbacks = dict(checkpoint["callbacks"])
    for key, state in states.items():
        state = dict(state)
        for name in PATH_KEYS:
            if isinstance(state.get(name), str):
                state[name] = convert(state[name], folder)
        state[BEST_K] = {convert(str(p), folder): score for p, score in state[BEST_K].items()}
        callbacks[key] = state
    return {**checkpoint, "callbacks": callbacks}


def _relative(path: str, folder: Path) -> str:
    """``path`` relative to ``folder`` when it lies below it (``.`` for the folder itself);
    any other path (empty, or a folder the configuration chose elsewhere) as it is."""
    if not path or not Path(path).is_absolute() or not Path(path).is_relative_to(folder):
        return path
    return str(Path(path).relative_to(folder))


def _rerooted(checkpoint: dict[str, Any], folder: Path) -> Any:
    """The conversion that reads the paths of ``checkpoint``, read from ``folder``: a
    relative path is joined to ``folder``. A checkpoint written before paths were stored
    relative holds the absolute folder it was written in as the ``dirpath`` of its
    ModelCheckpoint states; when they name one folder and it is not ``folder``, the file
    was copied or moved with its run, and what lay below that folder is read below this
    one."""
    written_in = {state["dirpath"] for state in _checkpoint_states(checkpoint).values()}
    moved_from = None
    if len(written_in) == 1:
        (old,) = written_in
        if isinstance(old, str) and Path(old).is_absolute() and Path(old) != folder:
            moved_from = Path(old)

    def reroot(path: str, folder: Path) -> str:
        if not path:
            return path
        if not Path(path).is_absolute():
            return os.path.normpath(folder / path)
        if moved_from is not None and Path(path).is_relative_to(moved_from):
            return os.path.normpath(folder / Path(path).relative_to(moved_from))
        return path

    return reroot
