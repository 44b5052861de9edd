"""How far real histories stray from their training data: the margins behind the warning
of forecast.py for a history far from what the model was trained on
(stanhop/forecast/shift.py).

    python bench/history_shift.py [--data-dir ../shared/data]

Scales each dataset on its first 70 % of rows, as training does, and prints, over every
window of in_len rows, the largest distance of a window's mean from the training mean (in
training standard deviations), the largest ratio of its spread to the training spread,
and the share of windows the warning would flag. The synthetic data needs no files; the
benchmark CSVs are skipped when absent.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from stanhop.data import Scaler, make_synthetic, read_wide_csv
from stanhop.forecast.shift import LEVEL_LIMIT, SPREAD_LIMIT, level_and_spread

# file, in_len of the standard setting
DATASETS = {"ETTh1.csv": 96, "WTH.csv": 96, "national_illness.csv": 36}


def margins(values: np.ndarray, in_len: int) -> tuple[float, float, float]:
    """``values`` (t, c) → the largest |level|, the largest spread ratio, and the share of
    windows flagged, over all windows of ``in_len`` rows."""
    scaler = Scaler.fit(values[: int(len(values) * 0.7)])
    levels, spreads = [], []
    for start in range(len(values) - in_len + 1):
        level, spread = level_and_spread(values[start : start + in_len], scaler)
        levels.append(np.abs(level))
        spreads.append(spread)
    level, spread = np.array(levels), np.array(spreads)
    flagged = ((level > LEVEL_LIMIT) | (spread > SPREAD_LIMIT)).any(axis=1).mean()
    return float(level.max()), float(spread.max()), float(flagged)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    args = parser.parse_args()
    frames = {"synthetic": (make_synthetic().to_numpy(), 96)}
    for name, in_len in DATASETS.items():
        path = args.data_dir / name
        if path.is_file():
            frames[name] = (read_wide_csv(path).to_numpy(), in_len)
    print(f"limits: |level| > {LEVEL_LIMIT}, spread ratio > {SPREAD_LIMIT}")
    print(f"{'data':<22} {'max |level|':>12} {'max spread':>11} {'flagged':>8}")
    for name, (values, in_len) in frames.items():
        level, spread, flagged = margins(values, in_len)
        print(f"{name:<22} {level:12.2f} {spread:11.2f} {flagged:8.2%}")


if __name__ == "__main__":
    main()
