"""Do backtests cover what the intervals promise? The coverage and mean width of each
interval level of a checkpoint backtested on later data, with the calibration stored in
the checkpoint and recalibrated on the latest windows before each one scored
(``stanhop-evaluate --recalibrate N``).

    python bench/coverage.py RUN HISTORY.csv --start DATE [--recalibrate 240 720] [--stride 1]

Prints one row per level: the level, then coverage and mean width (training standard
deviations) of each calibration, and the command that made it.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import warnings
from pathlib import Path

import pandas as pd

from stanhop.data import DataWarning, read_wide_csv
from stanhop.forecast import Forecaster
from stanhop.forecast.backtest import backtest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", type=Path, help="a .ckpt file or a run folder")
    parser.add_argument("history", type=Path)
    parser.add_argument("--start", type=pd.Timestamp, help="first forecast step scored")
    parser.add_argument("--stride", type=int, default=1)
    parser.add_argument(
        "--recalibrate",
        type=int,
        nargs="*",
        default=[],
        metavar="N",
        help="windows to recalibrate on",
    )
    args = parser.parse_args()
    forecaster = Forecaster.load(args.checkpoint)
    history = read_wide_csv(args.history, series=forecaster.series_names)  # every row
    results = {"stored": None, **{f"last {n}": n for n in args.recalibrate}}
    coverage = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # flat windows: counted, not shown
        for name, n in results.items():
            result = backtest(
                forecaster, history, start=args.start, stride=args.stride, recalibrate=n
            )
            coverage[name] = result.coverage
    print(f"$ python bench/coverage.py {shlex.join(sys.argv[1:])}")
    print(f"{len(result.windows)} windows from {result.windows.index[0]}")
    header = " ".join(f"{name + ' cov':>15} {'width':>6}" for name in coverage)
    print(f"{'level':>5} {header}")
    for level in sorted(set().union(*coverage.values())):
        cells = []
        for found in coverage.values():
            cov, width = found.get(level, (float("nan"), float("nan")))
            cells.append(f"{cov:15.3f} {width:6.2f}")
        print(f"{level:5g} {' '.join(cells)}")


if __name__ == "__main__":
    main()
