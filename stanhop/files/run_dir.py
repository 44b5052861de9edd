"""A training run's folder, where a checkpoint is wanted: ``RUN/checkpoints/best.ckpt``;
and an earlier run in a folder a new run starts in, kept aside.

So ``forecast.py RUN INPUT.csv`` works with the folder a run printed, and a hint names
a checkpoint only when it is there.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from stanhop.files.checkpoint import CheckpointError

# Where train.py's checkpoint callback (conf/callbacks/default.yaml) writes in a run folder.
CHECKPOINTS = "checkpoints"
BEST, LAST = "best.ckpt", "last.ckpt"
# What a run leaves in its folder once it has trained: a folder holding either holds a run.
RUN_MARKS = ("metrics.json", CHECKPOINTS)
# Written for the new run by Hydra before training starts: left where they are.
HYDRA_FILES = (".hydra", "train.log")
PREVIOUS = "previous-"


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


def keep_earlier_run(folder: Path, now: datetime | None = None) -> Path | None:
    """Move the run that ``folder`` already holds (its ``metrics.json`` or checkpoints, with
    everything else it wrote) into ``folder/previous-<time>/``, so a new run started in the
    same folder never replaces it; the folder it went to, or ``None`` when there was none.
    Hydra's own files, already the new run's, and earlier ``previous-*`` folders stay."""
    if not any((folder / mark).exists() for mark in RUN_MARKS):
        return None
    stamp = (now or datetime.now()).strftime("%Y-%m-%d_%H-%M-%S-%f")
    aside = folder / f"{PREVIOUS}{stamp}"
    aside.mkdir()
    for entry in sorted(folder.iterdir()):
        if entry != aside and entry.name not in HYDRA_FILES and not entry.name.startswith(PREVIOUS):
            entry.rename(aside / entry.name)
    return aside
