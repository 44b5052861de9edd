"""Do backtests cover what the intervals promise? The coverage and mean width of each
interval level of a checkpoint backtested on later data, with the calibration stored in
the checkpoint and recalibrated on the latest windows before each one scored
(``stanhop-evaluate --recalibrate N``).

    python bench/coverage.py RUN HISTORY.csv --start DATE [--recalibrate 240 720] [--stride 1]
    python bench/coverage.py RUN HISTORY.csv --start DATE --by-series

Prints the command, then one row per level: coverage and mean width (training standard
deviations) of each calibration; with ``--by-series``, the stored calibration's coverage
and median width of each series at each level instead.
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
    parser.add_argument("--by-series", action="store_true", help="each series apart, stored only")
    args = parser.parse_args()
    forecaster = Forecaster.load(args.checkpoint)
    history = read_wide_csv(args.history, series=forecaster.series_names)  # every row
    print(f"$ python bench/coverage.py {shlex.join(sys.argv[1:])}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # flat windows: counted, not shown
        if args.by_series:
            result = backtest(
                forecaster, history, start=args.start, stride=args.stride, keep_forecasts=True
            )
            print(f"{len(result.windows)} windows from {result.windows.index[0]}")
            by_series(result.forecasts, forecaster)
            return
        coverage = {
            "stored": backtest(forecaster, history, start=args.start, stride=args.stride).coverage
        }
        for n in args.recalibrate:
            result = backtest(
                forecaster, history, start=args.start, stride=args.stride, recalibrate=n
            )
            coverage[f"last {n}"] = result.coverage
    header = " ".join(f"{name + ' cov':>15} {'width':>6}" for name in coverage)
    print(f"{'level':>5} {header}")
    for level in sorted(set().union(*coverage.values())):
        cells = []
        for found in coverage.values():
            cov, width = found.get(level, (float("nan"), float("nan")))
            cells.append(f"{cov:15.3f} {width:6.2f}")
        print(f"{level:5g} {' '.join(cells)}")


def by_series(forecasts: pd.DataFrame, forecaster: Forecaster) -> None:
    """Coverage and median interval width (training standard deviations) of each series
    and level, from the long table of a backtest's forecasts."""
    levels = [c[3:] for c in forecasts.columns if c.startswith("lo_")]
    std = dict(zip(forecaster.targets, forecaster.target_scaler.std, strict=True))
    print(f"{'series':>10} " + " ".join(f"{lv + ' cov':>8} {'median w':>8}" for lv in levels))
    for series, rows in forecasts.groupby("series", sort=False):
        cells = []
        for level in levels:
            lo, hi = rows[f"lo_{level}"], rows[f"hi_{level}"]
            inside = ((rows["actual"] >= lo) & (rows["actual"] <= hi)).mean()
            cells.append(f"{inside:8.3f} {((hi - lo) / std[series]).median():8.2f}")
        print(f"{series:>10} " + " ".join(cells))


if __name__ == "__main__":
    main()
