"""Checkpoints for the forecast tests: each trained once per session, on a few batches of
the real config (``debug=fast``: in_len 48, out_len 12)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from stanhop.data import make_synthetic
from stanhop.train import train

ROOT = Path(__file__).resolve().parents[2]
CONF_DIR = ROOT / "conf"
SHARED_DATA = ROOT.parent / "shared" / "data"
IN_LEN, OUT_LEN = 48, 12


@dataclass(frozen=True)
class Run:
    """A finished tiny training run: its best checkpoint and the CSV it trained on."""

    ckpt: Path
    csv: Path
    frame: pd.DataFrame  # the CSV as read_wide_csv returns it


def train_on(csv: Path, out_dir: Path) -> Path:
    """Train the ``debug=fast`` config on ``csv``; the path of the best checkpoint."""
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = compose(
            "train",
            overrides=[
                f"paths.output_dir={out_dir}",
                f"paths.data_dir={out_dir / 'data'}",
                "debug=fast",
                "logger=none",
                "data=csv",
                f"data.path={csv}",
            ],
        )
    train(cfg)
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
def etth1_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """ETTh1 from ../shared/data (the test skips without it)."""
    csv = SHARED_DATA / "ETTh1.csv"
    if not csv.is_file():
        pytest.skip(f"{csv} is not available")
    from stanhop.data import read_wide_csv

    root = tmp_path_factory.mktemp("etth1")
    return Run(train_on(csv, root / "run"), csv, read_wide_csv(csv))
