"""Persistent compile caches for ``compile=true``.

Inductor can keep what it compiled (the FX graph cache, and the autograd cache for the
compiled backward) in a folder that outlives the process, so a second run of the same
model and shapes on the same machine loads its kernels instead of compiling them again.
:func:`enable_compile_caches` switches both on, in a folder under the user's cache
(``$XDG_CACHE_HOME/stanhop/inductor``, else ``~/.cache/stanhop/inductor``), unless the
environment already chooses (``TORCHINDUCTOR_CACHE_DIR``, ``TORCHINDUCTOR_FX_GRAPH_CACHE``,
``TORCHINDUCTOR_AUTOGRAD_CACHE``).
"""

from __future__ import annotations

import os
from pathlib import Path


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
