"""A training run's folder, where a checkpoint is wanted: ``RUN/checkpoints/best.ckpt``.

So ``forecast.py RUN INPUT.csv`` works with the folder a run printed, and a hint names
a checkpoint only when it is there.
"""

from __future__ import annotations

from pathlib import Path

from stanhop.files.checkpoint import CheckpointError

# Where train.py's checkpoint callback (conf/callbacks/default.yaml) writes in a run folder.
CHECKPOINTS = "checkpoints"
BEST, LAST = "best.ckpt", "last.ckpt"


def best_checkpoint(path: str | Path) -> Path:
    """``path`` itself when it is not a folder (a checkpoint file, checked when read);
    for a run folder, or its ``checkpoints`` folder, the best checkpoint in it. A folder
    without one is a :class:`CheckpointError` that says what the folder holds."""
    path = Path(path)
    if not path.is_dir():
        return path
    folders = [path / CHECKPOINTS, path]
    for folder in folders:
        if (folder / BEST).is_file():
            return folder / BEST
    last = next((folder / LAST for folder in folders if (folder / LAST).is_file()), None)
    if last is not None:
        raise CheckpointError(
            f"{path}: the run has no {BEST} yet, only {last} (the run may have stopped before "
            "its first validation); give that file instead of the folder"
        )
    raise CheckpointError(
        f"{path}: a folder without {CHECKPOINTS}/{BEST}; give the folder of a training run "
        "(train.py prints it at the end) or a .ckpt file"
    )
