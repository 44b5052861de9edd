"""Do past covariates (and calendar features) help forecast one target? On ETTh1, the oil
temperature ``OT`` forecast three ways, each scored on ``OT`` alone:

- ``covariates``: ``data.targets=[OT]``, the six load series as past covariates;
- ``univariate``: a model of ``OT`` alone (the ETTh1 file cut to its date and ``OT``);
- ``all_targets``: every series a target (the default), its ``OT`` forecast scored;

and, with ``--calendar hour dayofweek …``, ``covariates`` and ``univariate`` again with
those calendar features for the horizon (``+calendar``).

    python bench/covariates.py --data ../shared/data/ETTh1.csv --threads 1

Every run is ``train(cfg)`` of the real configuration on the benchmark's standard split
(12/4/4 months), the same budget for all (``--epochs`` epochs of at most ``--batches``
batches of 32 windows, early stopping on validation MSE, the test on the best validation
epoch's weights). Validation and test MSE are over every window of the split, on ``OT``
standardised by its training mean and standard deviation (the same in every variant), so
the figures compare across variants.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from accuracy import QUIET  # bench/accuracy.py: this script's folder is on sys.path

from stanhop import Forecaster
from stanhop.data import get_benchmark, read_wide_csv
from stanhop.data.calendar import calendar_features
from stanhop.training.compose import compose_config
from stanhop.training.train import train

ROOT = Path(__file__).resolve().parents[1]
TARGET = "OT"
MODELS = {
    "stanhop": ["model=stanhop"],
    "dlinear": ["model=dlinear", "recipe=reference", "optimizer.lr=5e-3"],
}


def target_mse(forecaster: Forecaster, frame: pd.DataFrame, first: int, stop: int) -> float:
    """MSE of ``forecaster``'s ``OT`` forecast over every window whose forecast lies in
    rows ``[first, stop)`` of ``frame``, standardised by ``OT``'s training statistics."""
    values = forecaster.scaler.transform(frame[forecaster.series_names].to_numpy(np.float64))
    known = calendar_features(frame.index, forecaster.calendar)  # (t, f), f = 0 without
    in_len, out_len = forecaster.in_len, forecaster.out_len
    starts = np.arange(first, stop - out_len + 1)
    column = forecaster.targets.index(TARGET)
    ot = forecaster.series_names.index(TARGET)
    errors = []
    for chunk in np.array_split(starts, max(1, len(starts) // 256)):
        x = np.stack([values[s - in_len : s] for s in chunk])
        y = np.stack([values[s : s + out_len, ot] for s in chunk])
        future = [np.stack([known[s : s + out_len] for s in chunk])] if known.shape[1] else []
        inputs = [torch.as_tensor(a, dtype=torch.float32) for a in (x, *future)]
        with torch.inference_mode():
            pred = forecaster.model(*inputs)[..., column]
        errors.append((pred.double().numpy() - y) ** 2)
    return float(np.concatenate(errors).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/ETTh1.csv")
    parser.add_argument("--out", type=Path, default=ROOT / "outputs/bench/covariates")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--variants", nargs="+", default=None)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--in-len", type=int, default=96)
    parser.add_argument("--out-len", type=int, default=24)
    parser.add_argument("--calendar", nargs="*", default=[])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    args.out.mkdir(parents=True, exist_ok=True)
    frame = read_wide_csv(args.data)
    univariate_csv = args.out / "ot_only.csv"
    frame[[TARGET]].to_csv(univariate_csv)
    split = get_benchmark("etth1").split
    n_train, n_val = int(split.train), int(split.val)
    bounds = {
        "val": (n_train, n_train + n_val),
        "test": (n_train + n_val, n_train + n_val + int(split.test)),
    }
    common = [
        "data=csv",
        f"data.split={{train:{n_train},val:{n_val},test:{int(split.test)}}}",
        f"data.in_len={args.in_len}",
        f"data.out_len={args.out_len}",
        f"trainer.max_epochs={args.epochs}",
        f"trainer.limit_train_batches={args.batches}",
        *QUIET,
    ]
    calendar = [f"data.calendar=[{','.join(args.calendar)}]"] if args.calendar else []
    variants = {
        "covariates": [f"data.path={args.data}", f"data.targets=[{TARGET}]"],
        "univariate": [f"data.path={univariate_csv}"],
        "all_targets": [f"data.path={args.data}"],
    }
    if calendar:
        variants["covariates+calendar"] = [*variants["covariates"], *calendar]
        variants["univariate+calendar"] = [*variants["univariate"], *calendar]
    chosen = args.variants or list(variants)

    results_path = args.out / "results.json"
    results: list[dict[str, Any]] = (
        json.loads(results_path.read_text()) if results_path.is_file() else []
    )
    done = {(r["model"], r["variant"], r["seed"]) for r in results}
    for seed in args.seeds:
        for model in args.models:
            for variant in chosen:
                if (model, variant, seed) in done:
                    continue
                run_dir = args.out / f"{model}_{variant}_seed{seed}"
                overrides = [*common, *MODELS[model], *variants[variant], f"seed={seed}"]
                overrides.append(f"threads={args.threads}")  # else the run chooses its own
                overrides.append(f"paths.output_dir={run_dir}")
                cfg = compose_config(*overrides)
                start = time.perf_counter()
                metrics = train(cfg)
                seconds = time.perf_counter() - start
                forecaster = Forecaster.load(run_dir / "checkpoints" / "best.ckpt")
                row = {
                    "model": model,
                    "variant": variant,
                    "seed": seed,
                    "epochs": metrics["train/epochs"],
                    "seconds": seconds,
                    **{
                        f"{name}_mse_{TARGET}": target_mse(forecaster, frame, *rows)
                        for name, rows in bounds.items()
                    },
                    "run_val_mse": metrics["val/mse"],
                    "run_test_mse": metrics["test/mse"],
                    "overrides": overrides,
                }
                results.append(row)
                results_path.write_text(json.dumps(results, indent=2))
                print(json.dumps({k: v for k, v in row.items() if k != "overrides"}), flush=True)

    print(f"\n{'model':<9}{'variant':<22}{'seeds':>6}{'val MSE OT':>12}{'test MSE OT':>13}")
    for model in args.models:
        for variant in chosen:
            rows = [r for r in results if r["model"] == model and r["variant"] == variant]
            if rows:
                val = np.mean([r[f"val_mse_{TARGET}"] for r in rows])
                test = np.mean([r[f"test_mse_{TARGET}"] for r in rows])
                print(f"{model:<9}{variant:<22}{len(rows):>6}{val:>12.4f}{test:>13.4f}")


if __name__ == "__main__":
    main()
