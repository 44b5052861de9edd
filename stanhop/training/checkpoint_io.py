"""How Lightning reads and writes stanhop's checkpoints while training: atomically, and
only as tensors and plain values.

A checkpoint is written to a temporary file and renamed into place, so killing a run at
any moment leaves the previous ``last.ckpt`` whole. Reading — to resume a run, or to
validate and test the best checkpoint — goes through
:func:`stanhop.files.checkpoint.load_checkpoint` (``weights_only=True``, one-line errors for
damaged, pickled or foreign files).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from stanhop.files.atomic import atomic_open
from stanhop.files.checkpoint import load_checkpoint


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint I/O with an atomic save and a weights-only, checked load."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None
    ) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(path, "wb") as f:
            torch.save(checkpoint, f)

    def load_checkpoint(
        self, path: str | Path, map_location: Any = "cpu", weights_only: bool | None = None
    ) -> dict[str, Any]:
        if weights_only is False:
            raise ValueError(f"{path}: stanhop never loads checkpoints with weights_only=False")
        return load_checkpoint(path, map_location=map_location)
