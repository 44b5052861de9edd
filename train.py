"""Train, validate and test a forecaster: `python train.py [group=option ...] [key=value ...]`.

The configuration lives in conf/ (see README.md); the work is done by stanhop.train.train.
"""

import os
import sys

import hydra
from omegaconf import DictConfig
from rich.console import Console
from rich.table import Table

from stanhop.data import DataError
from stanhop.train import train


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float:
    try:
        metrics = train(cfg)
    except (DataError, ValueError, FileNotFoundError) as err:
        if os.environ.get("STANHOP_DEBUG"):
            raise
        print(f"error: {err} (set STANHOP_DEBUG=1 for the traceback)", file=sys.stderr)
        sys.exit(2)
    table = Table(title=f"metrics ({cfg.paths.output_dir}/metrics.json)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in sorted(metrics.items()):
        table.add_row(key, f"{value:.6g}")
    Console().print(table)
    # Returned so Hydra sweepers that optimise a value can use it.
    return metrics["val/mse"]


if __name__ == "__main__":
    main()
