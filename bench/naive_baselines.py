"""Test MSE/MAE of training-free forecasts on exactly the windows `train.py` tests on.

Gives the context a model's test metrics need: a model that cannot beat repeating the
last value or the last season has learned nothing useful.

    python bench/naive_baselines.py                      # the default synthetic data
    python bench/naive_baselines.py data=csv data.path=../shared/data/ETTh1.csv
    python bench/naive_baselines.py data=etth1 experiment=etth1_24 --period 24

Arguments are Hydra overrides of conf/train.yaml; --period is the season in steps.
"""

from __future__ import annotations

import argparse

from hydra.utils import instantiate

from stanhop.measures.baselines import persistence, seasonal_naive
from stanhop.training.compose import compose_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--period", type=int, default=24, help="season length in steps")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. data=etth1")
    args = parser.parse_args()
    cfg = compose_config("paths.output_dir=unused", *args.overrides)
    dm = instantiate(cfg.data)
    dm.prepare_data()
    dm.setup()
    if args.period > cfg.data.in_len:
        parser.error(f"--period {args.period} is longer than in_len {cfg.data.in_len}")
    forecasts = {
        "persistence": lambda x: persistence(x, cfg.data.out_len),
        f"seasonal_naive(period={args.period})": lambda x: seasonal_naive(
            x, cfg.data.out_len, args.period
        ),
    }
    sums = {name: [0.0, 0.0] for name in forecasts}
    count = 0
    for x, y in dm.test_dataloader():
        count += y.numel()
        for name, forecast in forecasts.items():
            err = forecast(x) - y
            sums[name][0] += float((err**2).sum())
            sums[name][1] += float(err.abs().sum())
    print(f"{dm.source.name}: in_len={cfg.data.in_len} out_len={cfg.data.out_len}, test split")
    print(f"{'forecast':<28} {'test/mse':>9} {'test/mae':>9}")
    for name, (sq, ab) in sums.items():
        print(f"{name:<28} {sq / count:>9.4f} {ab / count:>9.4f}")


if __name__ == "__main__":
    main()
