"""Where forecast outputs go and how they are written: never over the input, never over
an existing file unless asked, and atomically (a reader sees the old file or the whole
new one, and a failed run leaves no partial file)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stanhop.forecast.errors import ForecastError

STDOUT = "-"


def default_output(input_path: str | Path) -> Path:
    """The output next to the input: ``ETTh1.csv`` → ``ETTh1.forecast.csv``."""
    path = Path(input_path)
    return path.with_name(f"{path.stem}.forecast.csv")


def check_output(path: Path, inputs: list[Path], force: bool, option: str) -> None:
    """Refuse an output that is one of ``inputs``, or that exists without ``force``;
    ``option`` names the command-line option that set it, for the message."""
    for given in inputs:
        if path.exists() and given.exists() and path.samefile(given):
            raise ForecastError(
                f"{path}: is an input of this forecast and is never overwritten; choose "
                f"another {option}"
            )
    if path.is_dir():
        raise ForecastError(f"{path}: is a folder; give a file name with {option}")
    if path.exists() and not force:
        raise ForecastError(
            f"{path}: exists; pass --force to overwrite it, or choose another {option}"
        )


def check_folder_writable(path: Path, option: str) -> None:
    """Refuse ``path`` when its folder is missing or cannot be written (tried with a
    temporary file, which also catches read-only mounts); checked before any work, so a
    bad ``--plot`` is not found only after the CSV was written."""
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise ForecastError(
            f"{path}: its folder {folder} {what}; create the folder or choose another {option}"
        )
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise ForecastError(
            f"{path}: cannot write in {folder} ({err.strerror}); choose another {option}"
        ) from err


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Report a failure to write ``path`` inside the block (an ``OSError``, e.g. from
    :func:`stanhop.files.atomic.atomic_open`) as a one-line ForecastError."""
    try:
        yield
    except OSError as err:
        raise ForecastError(
            f"{path}: cannot write there ({err.strerror}); check that the folder exists and "
            "is writable"
        ) from err
