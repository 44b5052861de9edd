"""Training from Python: ``forecaster, metrics = stanhop.fit(df, overrides=[...])``.

The same configuration, checks and run folder as the training command, on a pandas
DataFrame instead of a file; the trained model comes back as a
:class:`~stanhop.forecast.Forecaster` whose ``predict`` takes frames too."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from stanhop.cli.train_overrides import check_command_line
from stanhop.files.run_dir import BEST, CHECKPOINTS
from stanhop.forecast import Forecaster
from stanhop.training.compose import CONF_DIR
from stanhop.training.train import train

# The settings of conf/data/csv.yaml that say how to read a file, not what the data is.
_FILE_ONLY = ("_target_", "path", "sep", "decimal")


def fit(
    df: pd.DataFrame,
    overrides: Sequence[str] = (),
    output_dir: str | Path | None = None,
) -> tuple[Forecaster, dict[str, float]]:
    """Train on ``df`` with the Hydra ``overrides`` of ``python train.py`` (e.g.
    ``["model=dlinear", "data.targets=[OT]", "trainer.max_epochs=5"]``); returns the
    forecaster of the best checkpoint and the run's metrics.

    ``df`` is wide (a timestamp column, or a DatetimeIndex, and one numeric column per
    series) or long (columns ``unique_id``, ``ds``, ``y``), validated as the training
    command validates a CSV file (``data.date_column``, ``data.nan_policy``,
    ``data.format``, ``data.split`` … apply). The run's files (checkpoints,
    ``metrics.json``, ``config.yaml``) go to ``output_dir``, by default
    ``outputs/fit/<date and time>``. The same seed and overrides on the same data train
    the same weights as the command.

    Raises ``ValueError`` (:class:`~stanhop.cli.train_overrides.UsageError`,
    :class:`~stanhop.data.DataError`, …) in one line for mistyped settings and bad data.
    """
    overrides = ["data=csv", *overrides]
    check_command_line(overrides, CONF_DIR)
    if output_dir is None:
        output_dir = Path("outputs/fit") / time.strftime("%Y-%m-%d_%H-%M-%S")
    output_dir = Path(output_dir).resolve()
    # data.path is required by conf/data/csv.yaml; the frame takes its place.
    settings = [*overrides, f"paths.output_dir={output_dir}", "data.path=DataFrame"]
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = compose("train", overrides=settings)
    from stanhop.data.datamodule import from_csv

    options: dict[str, Any] = OmegaConf.to_container(cfg.data, resolve=True)
    datamodule = from_csv(df, **{k: v for k, v in options.items() if k not in _FILE_ONLY})
    metrics = train(cfg, datamodule)
    return Forecaster.load(output_dir / CHECKPOINTS / BEST), metrics
