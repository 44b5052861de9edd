"""Train, validate and test a forecaster: `python train.py [group=option ...] [key=value ...]`.

The configuration lives in conf/ (see README.md); the work is done by stanhop.training.train.train.
"""

import os
import sys

import hydra
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig
from omegaconf.errors import MissingMandatoryValue
from rich.console import Console
from rich.table import Table

from stanhop.evaluation.baseline_metrics import verdict
from stanhop.training.train import train

# Mistakes in data or settings: reported in one line, exit status 2, no traceback.
USER_ERRORS = (ValueError, FileNotFoundError, MissingMandatoryValue)


def user_error(err: BaseException) -> BaseException | None:
    """The user-caused error behind ``err`` (Hydra's instantiate wraps the original as
    ``__cause__``), or None for a bug, whose traceback should be shown."""
    while err is not None:
        if isinstance(err, USER_ERRORS):
            return err
        err = err.__cause__
    return None


def describe(err: BaseException) -> str:
    if isinstance(err, MissingMandatoryValue):
        return f"{err.full_key} is required; set it on the command line, e.g. {err.full_key}=..."
    return str(err).splitlines()[0]


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    try:
        metrics = train(cfg)
    except Exception as err:
        cause = user_error(err)
        if cause is None or os.environ.get("STANHOP_DEBUG"):
            raise
        print(f"error: {describe(cause)} (STANHOP_DEBUG=1 shows the traceback)", file=sys.stderr)
        sys.exit(2)
    if rank_zero_only.rank != 0:
        return metrics.get("val/mse")
    table = Table(title="metrics")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in sorted(metrics.items()):
        table.add_row(key, f"{value:.6g}")
    console = Console()
    console.print(table)
    line = verdict(metrics)
    if line:
        print(line, file=sys.stderr if line.startswith("warning:") else sys.stdout)
    console.print(f"written to {cfg.paths.output_dir}/metrics.json", soft_wrap=True)
    # Returned so Hydra sweepers that optimise a value can use it.
    return metrics.get("val/mse")


if __name__ == "__main__":
    main()
