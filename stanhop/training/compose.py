"""The one way to compose the training config outside a command: ``conf/train.yaml`` with
Hydra overrides, as ``python train.py OVERRIDES`` would see it, for tests, benchmarks and
the training command's own checks."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from stanhop.training.schema import register_schemas

# conf/ of the source tree this package is installed from (pip install -e .).
CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
CONFIG_NAME = "train"


def compose_config(
    *overrides: str, conf_dir: Path = CONF_DIR, return_hydra_config: bool = False
) -> DictConfig:
    """``conf/train.yaml`` of ``conf_dir`` composed with ``overrides`` (``key=value``,
    ``group=option``); with ``return_hydra_config`` also its ``hydra`` node."""
    register_schemas()
    with initialize_config_dir(config_dir=str(conf_dir.resolve()), version_base="1.3"):
        return compose(
            CONFIG_NAME, overrides=list(overrides), return_hydra_config=return_hydra_config
        )
