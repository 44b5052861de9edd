"""Shared fixtures: the real Hydra config, composed and shrunk for tests, and tiny trained
runs (once per session) for the forecast and fuzz tests."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The tests' models are tiny: one thread per process is as fast, and on a machine whose
# cores are busy (CI runners, training subprocesses beside pytest) several threads per
# process wait on each other for many times longer. Set before torch is imported, so
# subprocesses inherit it too.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import random

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import settings
from omegaconf import DictConfig

from stanhop.data import make_flat_stretches, make_synthetic
from stanhop.model import STanHopConfig
from stanhop.training.compose import compose_config
from stanhop.training.train import train

torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

# Hypothesis profiles. "ci" (the default, what .ci/run and the README's test command use)
# draws the same cases on every run and machine, and reads no example database, so a
# commit passes or fails the same way every time. "explore" draws twenty times as many
# fresh cases: STANHOP_HYPOTHESIS=explore python -m pytest tests/fuzz. What it finds
# becomes an explicit example in the tests.
settings.register_profile("ci", derandomize=True, database=None, deadline=None)
settings.register_profile("explore", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("STANHOP_HYPOTHESIS", "ci"))


@pytest.fixture(autouse=True)
def _seeded() -> None:
    """Every test starts from the same global random state, whatever ran before it."""
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


ROOT = Path(__file__).resolve().parents[1]
# The benchmark CSVs handed to developers and CI; tests that need them skip without.
SHARED_DATA = ROOT.parent / "shared" / "data"


# The one tiny STanHop-Net of the unit tests: quick on one thread, yet two scales, two
# heads, cross-series pooling and a memory-sized input (4 segments of 6 steps).
TINY_STANHOP: dict[str, Any] = {"n_series": 3, "in_len": 24, "out_len": 12, "seg_len": 6}
TINY_STANHOP |= {"d_model": 16, "d_ff": 32, "n_heads": 2, "factor": 3}
TINY_STANHOP |= {"e_layers": 2, "revin": False}


@pytest.fixture
def tiny_spec() -> dict[str, Any]:
    """The tiny STanHop-Net as a ``build_model`` spec (a fresh dict for every test)."""
    return {"name": "stanhop", **TINY_STANHOP}


@pytest.fixture
def tiny_config() -> Callable[..., STanHopConfig]:
    """The tiny STanHop-Net's config, with ``overrides`` of its fields."""

    def _config(**overrides: Any) -> STanHopConfig:
        return STanHopConfig(**{**TINY_STANHOP, **overrides})

    return _config


@pytest.fixture
def shared_csv() -> Callable[[str], Path]:
    """Path of a CSV in ../shared/data, skipping the test when it is absent."""

    def _get(name: str) -> Path:
        path = SHARED_DATA / name
        if not path.is_file():
            pytest.skip(f"{path} is not available")
        return path

    return _get


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file below ``folder`` with its bytes and modification time."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def folder_state() -> Callable[[Path], dict[str, tuple[bytes, int]]]:
    """:func:`snapshot`: what a run folder holds, to show a command left it untouched."""
    return snapshot


def compose_train(out_dir: Path, data_dir: Path, *overrides: str) -> DictConfig:
    """``conf/train.yaml`` with ``overrides``, writing outputs to ``out_dir`` and caching
    downloaded data in ``data_dir``."""
    return compose_config(f"paths.output_dir={out_dir}", f"paths.data_dir={data_dir}", *overrides)


@pytest.fixture(scope="session")
def composer() -> Callable[..., DictConfig]:
    """:func:`compose_train` itself, for fixtures wider than a test (``compose_cfg`` is
    tied to one test's ``tmp_path``)."""
    return compose_train


@pytest.fixture
def compose_cfg(tmp_path: Path) -> Callable[..., DictConfig]:
    """Compose ``conf/train.yaml`` with overrides, writing outputs under ``tmp_path``."""

    def _compose(*overrides: str) -> DictConfig:
        return compose_train(tmp_path / "run", tmp_path / "data", *overrides)

    return _compose


@dataclass(frozen=True)
class Run:
    """A finished tiny training run: its best checkpoint and the CSV it trained on."""

    ckpt: Path
    csv: Path
    frame: pd.DataFrame  # the CSV as read_wide_csv returns it


def train_on(csv: Path, out_dir: Path) -> Path:
    """Train the ``debug=fast`` config on ``csv``; the path of the best checkpoint."""
    overrides = ("debug=fast", "logger=none", "data=csv", f"data.path={csv}")
    train(compose_train(out_dir, out_dir / "data", *overrides))
    return out_dir / "checkpoints" / "best.ckpt"


@pytest.fixture(scope="session")
def synthetic_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Three hourly synthetic series over 30 days, written as a wide CSV."""
    root = tmp_path_factory.mktemp("synthetic")
    frame = make_synthetic(n_series=3, n_steps=24 * 30, seed=1)
    csv = root / "series.csv"
    frame.to_csv(csv)
    return Run(train_on(csv, root / "run"), csv, frame)


@pytest.fixture(scope="session")
def flat_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Hourly series with long flat stretches: a stuck sensor, and a load alternating
    between runs of zeros and steps up (26 weeks, written as a wide CSV)."""
    root = tmp_path_factory.mktemp("flat")
    frame = make_flat_stretches()
    csv = root / "flat.csv"
    frame.to_csv(csv)
    return Run(train_on(csv, root / "run"), csv, frame)


@pytest.fixture(scope="session")
def etth1_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """ETTh1 from ../shared/data (the test skips without it)."""
    csv = SHARED_DATA / "ETTh1.csv"
    if not csv.is_file():
        pytest.skip(f"{csv} is not available")
    from stanhop.data import read_wide_csv

    root = tmp_path_factory.mktemp("etth1")
    return Run(train_on(csv, root / "run"), csv, read_wide_csv(csv))
