"""Fetch a benchmark file into a data folder, from a mirror or its public URL, checked
against its sha256 and written atomically (a half-downloaded file is never left behind)."""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import BinaryIO

from stanhop.data.benchmarks import Benchmark, get_benchmark
from stanhop.data.errors import DataError
from stanhop.files.atomic import atomic_open

MIRROR_ENV = "STANHOP_DATA_MIRROR"
TIMEOUT_S = 60
_CHUNK = 1 << 20

log = logging.getLogger(__name__)


def download(name: str, root: str | Path = "data") -> Path:
    """Path of benchmark ``name``'s file in ``root``, fetching it first when absent.

    The source is ``$STANHOP_DATA_MIRROR`` when set — a local folder holding the file, or
    a URL prefix (``https://…``, ``file://…``) to which the file name is appended — and
    otherwise the registry's public URL.
    """
    bench = get_benchmark(name)
    target = Path(root) / bench.filename
    if target.is_file():
        if bench.sha256 is not None and (got := sha256_of(target)) != bench.sha256:
            raise DataError(
                f"{target}: sha256 {got} differs from the expected {bench.sha256}; delete "
                "the file to download it again"
            )
        return target
    mirror = os.environ.get(MIRROR_ENV)
    if mirror and "://" not in mirror:
        source = Path(mirror) / bench.filename
        if not source.is_file():
            raise DataError(
                f"{MIRROR_ENV}={mirror}: no file {bench.filename} there; put it there, or "
                f"unset {MIRROR_ENV} to download from {bench.url}"
            )
        log.info("copying %s to %s", source, target)
        with source.open("rb") as stream:
            _store(stream, target, bench, str(source))
        return target
    url = mirror.rstrip("/") + "/" + bench.filename if mirror else bench.url
    log.info("downloading %s to %s", url, target)
    request = urllib.request.Request(url, headers={"User-Agent": "stanhop"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as stream:
            _store(stream, target, bench, url)
    except DataError:
        raise
    except (OSError, ValueError, http.client.HTTPException) as err:
        # URLError, HTTPError and timeouts are OSErrors; a malformed URL is a ValueError.
        # HTTPError's text carries the status code; URLError's reason is the cause alone.
        cause = err if isinstance(err, urllib.error.HTTPError) else getattr(err, "reason", err)
        reason = " ".join(str(cause).split())
        raise DataError(
            f"could not download {bench.filename} from {url} ({reason}); put the file at "
            f"{target} or set {MIRROR_ENV} to a folder holding it"
        ) from None
    return target


def sha256_of(path: Path) -> str:
    """Hex sha256 of the file at ``path``."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _store(stream: BinaryIO, target: Path, bench: Benchmark, source: str) -> None:
    """Copy ``stream`` into ``target`` atomically, checking its sha256 before the file is
    renamed into place; on any failure nothing is left behind."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(target, "wb") as out:
        digest = hashlib.sha256()
        for chunk in iter(lambda: stream.read(_CHUNK), b""):
            digest.update(chunk)
            out.write(chunk)
        got = digest.hexdigest()
        if bench.sha256 is None:
            warnings.warn(
                f"{bench.filename} from {source} has sha256 {got}; no checksum is pinned for "
                f"{bench.name} in stanhop/data/benchmarks.py — pin this one to detect changes",
                stacklevel=3,
            )
        elif got != bench.sha256:
            raise DataError(
                f"{bench.filename} from {source} has sha256 {got}, expected {bench.sha256}; "
                f"the file was not saved — check the source, or put the right file at {target}"
            )
