"""The outlier study at the published depth and the width we train, with real INT8.

``experiment=outlier_study_width`` (11 scales without merging, d_model 128) for each
normaliser and seed, one run at a time on one thread, then for every run its real integer
model (``Forecaster.quantized(history, "int8")``: calibrated on the training split,
compiled, saved beside the checkpoint as ``best.int8.pt2``) and the simulated W8A8, W6A8
and W4A8 models, all backtested on the same windows as the run's own test (the first
``--windows`` forecast origins of ETTh1's test split); every ratio compares models on
the same windows, and ``int8.json`` keeps the run's own ``test/mse`` beside them.

Resumable: a run with a ``metrics.json`` is not trained again, a run with an
``int8.json`` not measured again, and a run killed mid-training resumes from its
``last.ckpt``. The table (``table.md`` in the study folder) is rewritten after every run,
so figures come as runs finish:

    OMP_NUM_THREADS=1 python bench/outlier_width.py                 # the whole study
    OMP_NUM_THREADS=1 python bench/outlier_width.py --seeds 1 --variants softmax outeffhop
    python bench/outlier_width.py --table-only                      # the table of what ran

On a GPU the published width is the same runs with ``--width 256`` (d_ff twice the width);
the float backtest and the integer model still run on the CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT.parent / "shared" / "data"  # holds ETTh1.csv: nothing is downloaded
EXPERIMENT = "outlier_study_width"
VARIANTS = ("softmax", "outeffhop", "gated")
SIMULATED = ("W8A8", "W6A8", "W4A8")
# The run's own test: limit_test_batches 4 of eval_batch_size 128.
WINDOWS = 512


def train(run: Path, variant: str, seed: int, width: int, threads: int) -> None:
    """Train one run into ``run`` (resuming from its last checkpoint when one is there)."""
    command = [
        sys.executable,
        str(ROOT / "train.py"),
        f"experiment={EXPERIMENT}",
        f"hopfield={variant}",
        f"seed={seed}",
        f"threads={threads}",
        f"model.d_model={width}",
        f"model.d_ff={2 * width}",
        "callbacks.progress_bar=null",
        f"hydra.run.dir={run}",
    ]
    if (run / "checkpoints" / "last.ckpt").is_file():
        command.append("ckpt_path=last")
    mirror = os.environ.get("STANHOP_DATA_MIRROR", str(DATA_DIR))
    env = {**os.environ, "STANHOP_DATA_MIRROR": mirror}
    with open(run.parent / f"{run.name}.log", "a") as log:
        subprocess.run(command, check=True, env=env, stdout=log, stderr=subprocess.STDOUT)


def measure_int8(run: Path, windows: int) -> dict:
    """Backtest MSE of the float, real int8 and simulated models of ``run`` on the first
    ``windows`` origins of the test split, and the seconds the int8 model took to build."""
    from int8 import test_split  # bench/: this script's folder is on sys.path

    from stanhop import Forecaster
    from stanhop.data import read_wide_csv
    from stanhop.forecast.backtest import backtest

    floating = Forecaster.load(run / "checkpoints" / "best.ckpt")
    history = read_wide_csv(DATA_DIR / "ETTh1.csv")
    first, _ = test_split(history, floating.in_len)
    start = history.index.get_loc(first)
    # backtest's end is the last timestamp a forecast may reach: that of the last origin's
    # final step, so that exactly ``windows`` origins are scored
    last = history.index[start + windows - 1 + floating.out_len - 1]
    began = time.perf_counter()
    models = {"float": floating, "int8": floating.quantized(history, "int8")}
    build_seconds = time.perf_counter() - began
    training = floating.training_rows(history)
    models |= {bits: floating.quantized(training, bits) for bits in SIMULATED}
    mse = {
        name: float(backtest(model, history, first, last).summary.loc["model", "mse"])
        for name, model in models.items()
    }
    return {"windows": windows, "int8_build_seconds": build_seconds, "backtest_mse": mse}


def load(study: Path) -> pd.DataFrame:
    """One row per finished run: variant, seed, its metrics and its backtests."""
    from stanhop.cli.report_runs import load_runs

    runs = load_runs([study])
    extra = []
    for run in runs["run"]:
        path = Path(run) / "int8.json"
        figures = json.loads(path.read_text()) if path.is_file() else {}
        extra.append(
            {f"backtest/{k}": v for k, v in figures.get("backtest_mse", {}).items()}
            | {"int8_build_seconds": figures.get("int8_build_seconds")}
        )
    return pd.concat([runs, pd.DataFrame(extra, index=runs.index)], axis=1)


COLUMNS = {
    "outliers/avg_kurtosis": "avg kurtosis",
    "outliers/max_inf_norm": "max inf-norm",
    "test/mse": "float MSE",
    "quant/W8A8/mse": "W8A8 MSE",
    "ratio/int8": "real INT8 / float",
    "ratio/W8A8": "W8A8 / float",
    "ratio/W6A8": "W6A8 / float",
    "ratio/W4A8": "W4A8 / float",
}


def table(runs: pd.DataFrame) -> str:
    """Mean ± sample std over seeds per normaliser, the change of the mean against
    softmax in brackets; then the outlier metrics on validation after every epoch."""
    runs = runs.copy()
    for name in ("int8", *SIMULATED):
        key = f"backtest/{name}"
        runs[f"ratio/{name}"] = runs[key] / runs["backtest/float"] if key in runs else float("nan")
    keys = [k for k in COLUMNS if k in runs]
    grouped = runs.groupby("variant", sort=False)
    mean, std = grouped[keys].mean(), grouped[keys].std(ddof=1)
    lines = [
        "| normaliser | seeds | " + " | ".join(COLUMNS[k] for k in keys) + " |",
        "|---|---|" + "---|" * len(keys),
    ]
    for variant in mean.index:
        seeds = ",".join(str(s) for s in sorted(grouped.get_group(variant)["seed"]))
        cells = []
        for key in keys:
            m, s = mean.loc[variant, key], std.loc[variant, key]
            cell = "—" if pd.isna(m) else (f"{m:.4g}" if pd.isna(s) else f"{m:.4g} ± {s:.2g}")
            if variant != "softmax" and "softmax" in mean.index and not pd.isna(m):
                base = mean.loc["softmax", key]
                cell += f" ({(m - base) / abs(base):+.1%})"
            cells.append(cell)
        lines.append(f"| {variant} | {seeds} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + epochs(runs)


def epochs(runs: pd.DataFrame) -> str:
    """Mean over seeds of validation MSE, max inf-norm and average kurtosis per epoch."""
    from stanhop.cli.report_runs import epoch_history

    frames = []
    for _, row in runs.iterrows():
        history = epoch_history(Path(row["run"]))
        if not history.empty:
            frames.append(history.reset_index().assign(variant=row["variant"]))
    if not frames:
        return ""
    history = pd.concat(frames).groupby(["variant", "epoch"], sort=False).mean()
    keys = {
        "val/mse": "val MSE",
        "val_outliers/max_inf_norm": "max inf-norm",
        "val_outliers/avg_kurtosis": "avg kurtosis",
    }
    keys = {k: v for k, v in keys.items() if k in history}
    lines = [
        "| normaliser | epoch | " + " | ".join(keys.values()) + " |",
        "|---|---|" + "---|" * len(keys),
    ]
    for (variant, epoch), row in history.iterrows():
        lines.append(
            f"| {variant} | {int(epoch)} | " + " | ".join(f"{row[k]:.4g}" for k in keys) + " |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "multirun" / EXPERIMENT)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS))
    parser.add_argument("--width", type=int, default=128, help="d_model (d_ff twice it)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--windows", type=int, default=WINDOWS, help="test origins backtested")
    parser.add_argument("--table-only", action="store_true", help="print what has run")
    args = parser.parse_args()

    study = args.out / f"d{args.width}"
    study.mkdir(parents=True, exist_ok=True)
    if not args.table_only:
        for seed in args.seeds:  # seeds outermost: a study cut short still compares variants
            for variant in args.variants:
                run = study / f"{variant}-seed{seed}"
                began = time.perf_counter()
                if not (run / "metrics.json").is_file():
                    train(run, variant, seed, args.width, args.threads)
                if not (run / "int8.json").is_file():
                    figures = measure_int8(run, args.windows)
                    figures["run_test_mse"] = json.loads((run / "metrics.json").read_text())[
                        "test/mse"
                    ]
                    (run / "int8.json").write_text(json.dumps(figures, indent=2))
                print(f"{run.name}: {time.perf_counter() - began:.0f} s", flush=True)
                (study / "table.md").write_text(table(load(study)))
    print(table(load(study)))


if __name__ == "__main__":
    main()
