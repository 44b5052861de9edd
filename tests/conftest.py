"""Shared fixtures: the real Hydra config, composed and shrunk for tests."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

# The tests' models are tiny: one thread per process is as fast, and on a machine whose
# cores are busy (CI runners, training subprocesses beside pytest) several threads per
# process wait on each other for many times longer. Set before torch is imported, so
# subprocesses inherit it too.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = ROOT / "conf"
# The benchmark CSVs handed to developers and CI; tests that need them skip without.
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture
def shared_csv() -> Callable[[str], Path]:
    """Path of a CSV in ../shared/data, skipping the test when it is absent."""

    def _get(name: str) -> Path:
        path = SHARED_DATA / name
        if not path.is_file():
            pytest.skip(f"{path} is not available")
        return path

    return _get


@pytest.fixture
def compose_cfg(tmp_path: Path) -> Callable[..., DictConfig]:
    """Compose ``conf/train.yaml`` with overrides, writing outputs under ``tmp_path``."""

    def _compose(*overrides: str) -> DictConfig:
        with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
            return compose(
                "train",
                overrides=[
                    f"paths.output_dir={tmp_path / 'run'}",
                    f"paths.data_dir={tmp_path / 'data'}",
                    *overrides,
                ],
            )

    return _compose
