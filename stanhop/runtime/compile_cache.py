"""Persistent compile caches for ``compile=true``.

Inductor can keep what it compiled (the FX graph cache, and the autograd cache for the
compiled backward) in a folder that outlives the process, so a second run of the same
model and shapes on the same machine loads its kernels instead of compiling them again.
:func:`enable_compile_caches` switches both on, in a folder under the user's cache
(``$XDG_CACHE_HOME/stanhop/inductor``, else ``~/.cache/stanhop/inductor``), unless the
environment already chooses (``TORCHINDUCTOR_CACHE_DIR``, ``TORCHINDUCTOR_FX_GRAPH_CACHE``,
``TORCHINDUCTOR_AUTOGRAD_CACHE``). A ledger beside the kernels records every model a run
compiled at its shapes, so ``compile=auto`` knows which compiles the cache makes cheap.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock

LEDGER = "stanhop-compiled.json"


def compile_cache_dir() -> Path:
    """Where compiled kernels are kept between runs."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "stanhop" / "inductor"


def enable_compile_caches() -> str:
    """Turn inductor's persistent caches on (what the environment sets wins) and return a
    one-line description of where they are."""
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(compile_cache_dir()))
    os.environ.setdefault("TORCHINDUCTOR_FX_GRAPH_CACHE", "1")
    os.environ.setdefault("TORCHINDUCTOR_AUTOGRAD_CACHE", "1")
    return (
        f"compile: kernels cached in {os.environ['TORCHINDUCTOR_CACHE_DIR']} "
        "(a later run of the same model and shapes starts from them)"
    )


def ledger_path() -> Path:
    """The record of compiled models, beside the kernels it vouches for (emptying the
    cache folder forgets them)."""
    folder = os.environ.get("TORCHINDUCTOR_CACHE_DIR") or compile_cache_dir()
    return Path(folder) / LEDGER


def shape_key(spec: dict[str, Any], batch: int, precision: str) -> str:
    """What the compiled kernels depend on: the model, the batch, the precision and the
    torch release."""
    text = json.dumps([spec, batch, precision, torch.__version__], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def compiled_before(key: str) -> bool:
    path = ledger_path()
    try:
        return key in json.loads(path.read_text())
    except (OSError, ValueError):
        return False


def remember_compiled(key: str) -> None:
    """Record that this machine's cache now holds the kernels of ``key``."""
    path = ledger_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        try:
            known = json.loads(path.read_text())
        except (OSError, ValueError):
            known = {}
        known[key] = {"torch": torch.__version__, "when": time.strftime("%Y-%m-%d %H:%M")}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(known, indent=1))
        tmp.replace(path)
