"""Do prediction intervals follow a history given at another scale? The coverage of a
checkpoint's intervals on a backtest of a history, and of the same history rescaled
about its mean (x3, x0.2), as ``stanhop-evaluate`` measures it.

    python bench/interval_scale.py RUN/checkpoints/best.ckpt HISTORY.csv [--start DATE]

A model with RevIN forecasts each window on its own scale; its intervals, calibrated on
each window's RevIN scale (stanhop/measures/conformal.py), should cover as much of the
rescaled backtests as of the original one, with widths that grow by the same factor.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from stanhop.data import read_wide_csv
from stanhop.forecast import Forecaster
from stanhop.forecast.backtest import backtest

FACTORS = (1.0, 3.0, 0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("history", type=Path)
    parser.add_argument("--start", type=pd.Timestamp, help="first forecast step scored")
    parser.add_argument("--stride", type=int, default=1)
    args = parser.parse_args()
    forecaster = Forecaster.load(args.checkpoint)
    history = read_wide_csv(args.history, series=forecaster.series_names)  # every row
    mean = history.mean()
    print(f"{'factor':>6} {'level':>5} {'coverage':>9} {'mean width':>11}")
    for factor in FACTORS:
        scaled = (history - mean) * factor + mean
        result = backtest(forecaster, scaled, start=args.start, stride=args.stride)
        for level, (coverage, width) in sorted(result.coverage.items()):
            print(f"{factor:6g} {level:5g} {coverage:9.3f} {width:11.3f}")


if __name__ == "__main__":
    main()
