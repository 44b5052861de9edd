"""ETTh1 test accuracy of STanHop-Net (three normalisers) against DLinear, several seeds,
with the wall time of every run: is it better than the simple model, and at what cost?

    # the benchmark file from a local folder instead of downloading it
    export STANHOP_DATA_MIRROR=/path/to/folder/with/ETTh1.csv
    python bench/accuracy.py --size full       # published settings (a GPU: hours on a CPU)
    python bench/accuracy.py --size cpu        # reduced STanHop-Net (see CPU_STANHOP)
    python bench/accuracy.py --size cpu --seeds 1 --horizons 24 --models outeffhop dlinear

Every run is `train(cfg)` of the real configuration (`experiment=etth1_{24,48}` with
`hopfield=...`, or `experiment=etth1_{24,48}_dlinear`), so the test windows, metrics and
early stopping are those of `python train.py`. Test MSE/MAE are on the standardised scale;
mean ± sample standard deviation over the seeds. A seasonal-naive forecast (the last day
repeated) of the same test windows is printed for context. Extra Hydra overrides for every
run follow `--override`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from stanhop.training.train import train

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from naive_baselines import seasonal_naive  # noqa: E402

MODELS = ("outeffhop", "stanhop", "softmax", "dlinear")

# --size cpu reduces STanHop-Net to this project's default width and learning rate
# (conf/model/stanhop.yaml, conf/train.yaml: d_model 64, d_ff 128, lr 1e-3) and to 3
# epochs of 100 batches, keeping the published ETTh1 architecture otherwise (in_len 168,
# seg_len 6, 3 scales, 10 pooling patterns, 4 heads, batch 32, the halving schedule);
# validation and test use every window. DLinear is cheap and runs as published in both.
CPU_STANHOP = (
    "model.d_model=64",
    "model.d_ff=128",
    "optimizer.lr=1e-3",
    "trainer.max_epochs=3",
    "trainer.limit_train_batches=100",
)


def run_overrides(model: str, horizon: int, seed: int, size: str, out: Path) -> list[str]:
    """The Hydra overrides of one run."""
    if model == "dlinear":
        chosen = [f"experiment=etth1_{horizon}_dlinear"]
    else:
        chosen = [f"experiment=etth1_{horizon}", f"hopfield={model}"]
        if size == "cpu":
            chosen += CPU_STANHOP
    return [
        *chosen,
        f"seed={seed}",
        "logger=none",
        "callbacks.progress_bar=null",
        "+trainer.enable_progress_bar=false",
        "+trainer.enable_model_summary=false",
        f"paths.output_dir={out / f'{model}_h{horizon}_seed{seed}'}",
    ]


def compose_cfg(overrides: list[str]) -> Any:
    with initialize_config_dir(version_base="1.3", config_dir=str(ROOT / "conf")):
        return compose("train", overrides=overrides)


def seasonal_naive_errors(horizon: int, extra: list[str], period: int = 24) -> dict[str, float]:
    """Test MSE/MAE of repeating the last ``period`` steps, on the runs' test windows."""
    cfg = compose_cfg([f"experiment=etth1_{horizon}", "paths.output_dir=unused", *extra])
    dm = instantiate(cfg.data)
    dm.prepare_data()
    dm.setup()
    sq = ab = 0.0
    n = 0
    for x, y in dm.test_dataloader():
        err = seasonal_naive(x, horizon, period) - y
        sq += float((err**2).sum())
        ab += float(err.abs().sum())
        n += y.numel()
    return {"test/mse": sq / n, "test/mae": ab / n}


def mean_std(values: list[float]) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else float("nan")
    return f"{statistics.mean(values):.4f} ± {spread:.4f}"


def summarise(runs: list[dict[str, Any]], naive: dict[int, dict[str, float]]) -> str:
    lines = [
        "| horizon | model | test MSE | test MAE | epochs | wall time per run (s) | seeds |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for horizon in sorted({r["horizon"] for r in runs}):
        for model in MODELS:
            group = [r for r in runs if r["horizon"] == horizon and r["model"] == model]
            if not group:
                continue
            metric = {k: [r[k] for r in group] for k in ("test/mse", "test/mae", "wall_s")}
            epochs = statistics.mean(r["train/epochs"] for r in group)
            walls = ", ".join(f"{w:.0f}" for w in metric["wall_s"])
            lines.append(
                f"| {horizon} | {model} | {mean_std(metric['test/mse'])} | "
                f"{mean_std(metric['test/mae'])} | {epochs:.1f} | {walls} | {len(group)} |"
            )
        if horizon in naive:
            n = naive[horizon]
            lines.append(
                f"| {horizon} | seasonal naive (24 h, no training) | {n['test/mse']:.4f} | "
                f"{n['test/mae']:.4f} | – | – | – |"
            )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", choices=["cpu", "full"], required=True)
    p.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    p.add_argument("--horizons", nargs="+", type=int, choices=[24, 48], default=[24, 48])
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    p.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--out", type=Path, default=Path("outputs/bench_accuracy"))
    p.add_argument("--override", nargs="*", default=[], help="Hydra overrides for every run")
    p.add_argument("--json", action="store_true", help="also print every run as JSON")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    runs: list[dict[str, Any]] = []
    for horizon in args.horizons:
        for model in args.models:
            for seed in args.seeds:
                overrides = run_overrides(model, horizon, seed, args.size, args.out)
                cfg = compose_cfg([*overrides, *args.override])
                start = time.perf_counter()
                metrics = train(cfg)
                wall = time.perf_counter() - start
                run = {"horizon": horizon, "model": model, "seed": seed, "wall_s": wall}
                run |= {k: metrics[k] for k in ("test/mse", "test/mae", "val/mse", "train/epochs")}
                runs.append(run)
                print(
                    f"h={horizon} {model} seed={seed}: test/mse {run['test/mse']:.4f} "
                    f"test/mae {run['test/mae']:.4f} ({wall:.0f} s)",
                    flush=True,
                )
    naive = {h: seasonal_naive_errors(h, args.override) for h in args.horizons}
    print(f"\nETTh1, size={args.size}, seeds {args.seeds}, threads {torch.get_num_threads()}")
    print(summarise(runs, naive))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps({"runs": runs, "naive": naive}, indent=2))
    if args.json:
        print(json.dumps(runs))


if __name__ == "__main__":
    main()
