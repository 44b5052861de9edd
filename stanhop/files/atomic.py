"""Atomic file writes: a reader (or a run killed half-way) sees either the old file or
the whole new one, never a partial file.

Everything stanhop writes — checkpoints, ``metrics.json``, ``config.yaml``, outlier
tables and plots, reports, forecasts — goes through :func:`atomic_open`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Open a temporary file next to ``path`` for writing (``mode`` and ``kwargs`` as for
    ``open``); when the block succeeds the file is flushed to disk and replaces ``path``
    in one rename, when it fails it is removed. Raises ``OSError`` when the folder cannot
    be written."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            # Without fsync a crash of the machine (not only of the process) could leave
            # the renamed file empty on some file systems.
            os.fsync(f.fileno())
        # mkstemp creates the file readable by its owner only; give it the usual mode.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
