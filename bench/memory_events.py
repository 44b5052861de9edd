"""Does external memory help on sudden events? Test MSE on event windows and on ordinary
windows for STanHop-Net without memory, with Plug-and-Play and with Tune-and-Play.

    python bench/memory_events.py                      # 3 seeds, synthetic + ETTh1
    python bench/memory_events.py --seeds 0 --json results.json

Per dataset and seed, a backbone is trained once without memory (`train(cfg)`, the
real pipeline); then, on the test split (standardised scale):

- `none`: the backbone.
- `plug_and_play (attached)`: the backbone given K training windows with
  `attach_memory`, no weight update (its gate is closed, so this checks that nothing moves).
- `plug_and_play (trained)`: a model trained with memory=plug_and_play (memory = K
  training windows); `... + event memory` swaps its memory for K training windows that
  hold an event, train-less.
- `tune_and_play (frozen)`: the backbone's memory bank, retrieval and gate tuned with
  the backbone frozen (memory.freeze_backbone=true).
- `tune_and_play (joint)`: memory=tune_and_play trained with the whole model.

Event windows are test windows with an event in their target. Synthetic data: the
generator's recurring events (3 shapes). ETTh1 (from ../shared/data, skipped when
absent) has no labels, so there an event is a sudden change: an hour whose step
|x_t − x_{t−1}| in some series exceeds that series' 99.9th percentile over the
training rows. Defaults are small for a CPU (a 32-wide model, a few short epochs).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hydra.utils import instantiate

from stanhop.data.memory_windows import overlapping_starts, sample_windows
from stanhop.data.synthetic import event_window_flags
from stanhop.forecast.memory import attach_memory
from stanhop.training.compose import compose_config
from stanhop.training.lit import LitForecaster
from stanhop.training.train import train

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
JUMP_QUANTILE = 0.999
SUBSETS = ("event", "ordinary", "all")


def dataset_overrides(name: str) -> list[str] | None:
    """Hydra overrides for a dataset, or None when its file is absent."""
    if name == "synthetic":
        return ["data=synthetic", "data.source.recurring_events=3"]
    if not (SHARED / "ETTh1.csv").is_file():
        return None
    return ["data=etth1", f"paths.data_dir={SHARED}"]


def event_rows(dm: Any) -> np.ndarray:
    """(t,) bool over all rows: labelled events, or else sudden changes (see the top)."""
    if hasattr(dm.source, "event_rows"):
        return dm.source.event_rows()
    values = dm.scaler.transform(dm.source.load().to_numpy(dtype=np.float64))
    steps = np.abs(np.diff(values, axis=0, prepend=values[:1]))
    start, stop = dm.bounds["train"]
    threshold = np.quantile(steps[start:stop], JUMP_QUANTILE, axis=0)
    return (steps > threshold).any(axis=1)


def window_errors(model: torch.nn.Module, dm: Any) -> np.ndarray:
    """MSE of every test window, (n_windows,)."""
    model.eval()
    errors = []
    with torch.no_grad():
        for x, y in dm.test_dataloader():
            errors.append(((model(x) - y) ** 2).mean(dim=(1, 2)).numpy())
    return np.concatenate(errors)


def scores(errors: np.ndarray, events: np.ndarray) -> dict[str, float]:
    return {
        "event": float(errors[events].mean()),
        "ordinary": float(errors[~events].mean()),
        "all": float(errors.mean()),
    }


def run_dataset(name: str, data: list[str], seed: int, args: argparse.Namespace, out: Path):
    """All variants for one dataset and seed → {variant: {subset: mse}} and the count of
    event / ordinary test windows."""
    common = [
        *data,
        f"seed={seed}",
        "logger=none",
        "callbacks.progress_bar=null",
        "trainer.accelerator=cpu",
        "+trainer.enable_model_summary=false",
        "+trainer.enable_progress_bar=false",
        f"trainer.max_epochs={args.epochs}",
        f"trainer.limit_train_batches={args.train_batches}",
        f"trainer.limit_val_batches={args.val_batches}",
        "model.d_model=32",
        "model.d_ff=64",
        "model.n_heads=2",
        "model.factor=3",
        "model.seg_len=12",
        "model.e_layers=2",
        f"memory.size={args.size}",
    ]

    def fit(tag: str, *overrides: str) -> tuple[LitForecaster, Any]:
        cfg = compose_config(*common, f"paths.output_dir={out / tag}", *overrides)
        train(cfg)
        ckpt = out / tag / "checkpoints" / "best.ckpt"
        return LitForecaster.load_from_checkpoint(ckpt, map_location="cpu").model, cfg

    backbone, cfg = fit("none")
    dm = instantiate(cfg.data)
    dm.setup()
    rows = event_rows(dm)
    events = event_window_flags(rows[slice(*dm.bounds["test"])], dm.in_len, dm.out_len)
    train_values = dm.datasets["train"].values.numpy()
    train_windows = sample_windows(train_values, dm.in_len, args.size, seed)
    event_starts = overlapping_starts(rows[slice(*dm.bounds["train"])], dm.in_len)
    event_windows = sample_windows(train_values, dm.in_len, args.size, seed, event_starts)

    results = {"none": scores(window_errors(backbone, dm), events)}
    with warnings.catch_warnings():  # that its gate is closed is the point here
        warnings.simplefilter("ignore")
        attach_memory(backbone, train_windows)
    results["plug_and_play (attached)"] = scores(window_errors(backbone, dm), events)

    pnp, _ = fit("pnp", "memory=plug_and_play")
    results["plug_and_play (trained)"] = scores(window_errors(pnp, dm), events)
    attach_memory(pnp, event_windows)
    results["plug_and_play (trained) + event memory"] = scores(window_errors(pnp, dm), events)

    backbone_ckpt = out / "none" / "checkpoints" / "best.ckpt"
    frozen, _ = fit(
        "tnp_frozen",
        "memory=tune_and_play",
        "memory.freeze_backbone=true",
        f"memory.backbone_ckpt={backbone_ckpt}",
    )
    results["tune_and_play (frozen)"] = scores(window_errors(frozen, dm), events)
    joint, _ = fit("tnp_joint", "memory=tune_and_play")
    results["tune_and_play (joint)"] = scores(window_errors(joint, dm), events)
    return results, {"event": int(events.sum()), "ordinary": int((~events).sum())}


def summarise(per_seed: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, Any]]:
    """Mean and sample std over seeds of each MSE, and of its difference from `none`
    within the same seed (paired)."""
    out: dict[str, dict[str, Any]] = {}
    for variant in per_seed[0]:
        row: dict[str, Any] = {}
        for subset in SUBSETS:
            values = [run[variant][subset] for run in per_seed]
            deltas = [run[variant][subset] - run["none"][subset] for run in per_seed]
            row[subset] = {"mean": statistics.fmean(values), "std": _std(values)}
            row[f"{subset}_delta"] = {"mean": statistics.fmean(deltas), "std": _std(deltas)}
        out[variant] = row
    return out


def _std(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def print_table(name: str, summary: dict, counts: dict, n_seeds: int) -> None:
    print(
        f"\n{name}: test MSE (standardised), mean ± std over {n_seeds} seed(s); Δ = paired "
        f"difference from none; {counts['event']} event / {counts['ordinary']} ordinary windows"
    )
    header = f"{'variant':<40}" + "".join(f"{s + ' MSE':>18}{'Δ':>18}" for s in SUBSETS)
    print(header)
    for variant, row in summary.items():
        cells = "".join(
            f"{row[s]['mean']:>10.4f} ± {row[s]['std']:<5.4f}"
            f"{row[s + '_delta']['mean']:>+10.4f} ± {row[s + '_delta']['std']:<5.4f}"
            for s in SUBSETS
        )
        print(f"{variant:<40}{cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--datasets", nargs="+", default=["synthetic", "etth1"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-batches", type=int, default=40, help="per epoch")
    parser.add_argument("--val-batches", type=int, default=4)
    parser.add_argument("--size", type=int, default=64, help="memory windows K")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    report: dict[str, Any] = {"settings": vars(args) | {"json": str(args.json)}}
    start = time.perf_counter()
    for name in args.datasets:
        data = dataset_overrides(name)
        if data is None:
            print(f"\n{name}: skipped, {SHARED / 'ETTh1.csv'} is absent", file=sys.stderr)
            continue
        per_seed = []
        with tempfile.TemporaryDirectory() as tmp:
            for seed in args.seeds:
                results, counts = run_dataset(name, data, seed, args, Path(tmp) / str(seed))
                per_seed.append(results)
        summary = summarise(per_seed)
        print_table(name, summary, counts, len(args.seeds))
        report[name] = {"windows": counts, "per_seed": per_seed, "summary": summary}
    report["seconds"] = time.perf_counter() - start
    print(f"\n{report['seconds']:.0f} s in all")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
