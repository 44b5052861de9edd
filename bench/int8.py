"""Float against real INT8 on ETTh1-24, with the simulated W8A8 beside it: latency of a
forecast (batch 1 and batch 128, float and int8 taking turns in one process), model size
on disk, peak memory of a forecasting process, and backtest MSE on the test split.

Latency is measured three ways: the float model as forecasts run it (eager), the float
model compiled by AOTInductor as the integer one is ("float AOT": what compiling alone
buys), and the integer model; below the table, every case where int8 is slower than
float is listed.

For each size (``default``: the model of ``python train.py``, d_model 128 at one scale
over 96 steps; ``published``: ``experiment=etth1_24``, the published ETTh1-24 network)
and each normaliser (``softmax``, ``outeffhop`` = softmax₁, ``gated``) it trains a
checkpoint on ETTh1 (``--epochs`` of ``--batches`` batches), builds the integer model
(``Forecaster.quantized(history, "int8")``: calibrated on the training split, compiled,
saved beside the checkpoint) and the simulated W8A8 one (calibrated on the same split),
and measures. Backtest MSE is on the standardised scale over every window of the test
split; "size" is the float model's weights (``state_dict``) against the int8 package
(int8 weights, the other constants in fp32, and the compiled code, which at the default
size is most of it); "peak" the largest resident memory of a fresh process that
loads the model and forecasts a batch of 128 (Linux; the process's torch counts in both).

The full table, on a quiet machine (one thread; roughly an hour, most of it training
and compiling):

    OMP_NUM_THREADS=1 python bench/int8.py --sizes default published --epochs 4 \\
        --batches 100 --steps 50 --json bench/int8.json

A quick check that it runs (its figures mean nothing):

    OMP_NUM_THREADS=1 python bench/int8.py --sizes default --variants outeffhop \\
        --epochs 1 --batches 2 --steps 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from timing import turn_times  # bench/: this script's folder is on sys.path

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT.parent / "shared" / "data"  # holds ETTh1.csv: nothing is downloaded
SIZES = {"default": [], "published": ["experiment=etth1_24"]}
VARIANTS = ("softmax", "outeffhop", "gated")
BATCHES = (1, 128)


def train_checkpoint(out: Path, size: str, variant: str, epochs: int, batches: int) -> Path:
    """The best checkpoint of ``size`` with the normaliser ``variant`` on ETTh1-24."""
    from stanhop.training.compose import compose_config
    from stanhop.training.train import train

    cfg = compose_config(
        *SIZES[size],
        f"paths.output_dir={out}",
        f"paths.data_dir={DATA_DIR}",
        "data=etth1",
        "data.out_len=24",
        f"hopfield={variant}",
        "logger=none",
        "threads=1",
        f"trainer.max_epochs={epochs}",
        f"trainer.limit_train_batches={batches}",
        # the figures measured here need none of the run's own evaluations
        "callbacks.progress_bar=null",
        "callbacks.outliers=null",
        "callbacks.quantization=null",
        "callbacks.intervals=null",
        "callbacks.seasonal_naive=null",
        "+trainer.enable_progress_bar=false",
        "+trainer.enable_model_summary=false",
    )
    train(cfg)
    return out / "checkpoints" / "best.ckpt"


def test_split(history, in_len: int) -> tuple[Any, Any]:
    """First and last forecast timestamps of ETTh1's test split (12/4/4 months)."""
    from stanhop.data.benchmarks import BENCHMARKS

    split = BENCHMARKS["etth1"].split
    start, stop = split.bounds(len(history), in_len)["test"]
    return history.index[start + in_len], history.index[stop - 1]


def peak_forecast_mib(ckpt: Path, kind: str) -> float:
    """Peak resident MiB of a fresh process that loads ``ckpt`` (float, or its saved int8
    model) and forecasts one batch of 128 windows (see :func:`_peak_child`)."""
    command = [sys.executable, __file__, "--peak-child", kind, str(ckpt)]
    result = subprocess.run(command, check=True, capture_output=True, text=True, env=os.environ)
    return float(result.stdout.strip().splitlines()[-1])


def _peak_child(kind: str, ckpt: Path) -> None:
    from stanhop import Forecaster

    forecaster = Forecaster.load(ckpt)
    if kind == "int8":
        forecaster = forecaster.quantized(None, "int8")  # the saved model, no calibration
    x = torch.randn(128, forecaster.in_len, len(forecaster.series_names))
    with torch.inference_mode():
        forecaster.model(x)
    # VmHWM, not getrusage's maxrss: Linux carries the parent's peak over fork and exec
    # into the child's maxrss, while VmHWM belongs to this process's own memory.
    status = Path("/proc/self/status").read_text()
    print(int(next(ln for ln in status.splitlines() if ln.startswith("VmHWM:")).split()[1]) / 1024)


def compiled_float(model: torch.nn.Module, path: Path) -> Any:
    """``model`` compiled by AOTInductor exactly as the integer model is, minus the
    quantization: the same plain path, dynamic batch and freezing."""
    from stanhop.measures.fake_quant import detached_copy
    from stanhop.model.hopfield import use_reference_path

    model = detached_copy(model)
    use_reference_path(model)
    x = torch.randn(2, model.cfg.in_len, model.cfg.n_series)
    batch = torch.export.Dim("batch", min=1)
    exported = torch.export.export(model, (x,), dynamic_shapes=({0: batch},), strict=False)
    with torch.no_grad():
        torch._inductor.aoti_compile_and_package(
            exported, package_path=str(path), inductor_configs={"freezing": True}
        )
    return torch._inductor.aoti_load_package(str(path))


def measure(ckpt: Path, steps: int) -> dict[str, Any]:
    """Every figure of one checkpoint."""
    from stanhop import Forecaster
    from stanhop.data import read_wide_csv
    from stanhop.data.windows import cut_windows
    from stanhop.forecast.backtest import backtest

    floating = Forecaster.load(ckpt)
    history = read_wide_csv(DATA_DIR / "ETTh1.csv")
    start = time.perf_counter()
    integer = floating.quantized(history, "int8")
    build_seconds = time.perf_counter() - start
    simulated = floating.quantized(floating.training_rows(history), "W8A8")
    first, last = test_split(history, floating.in_len)
    mse = {
        name: float(backtest(f, history, first, last).summary.loc["model", "mse"])
        for name, f in (("float", floating), ("int8", integer), ("w8a8", simulated))
    }

    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "weights.pt"
        torch.save(floating.model.state_dict(), weights)
        float_mib = weights.stat().st_size / 2**20
    int8_mib = integer.model.path.stat().st_size / 2**20

    float_aot = compiled_float(floating.model, ckpt.with_name("float.pt2"))

    # Real windows of the test split, standardised as the model reads them.
    values = torch.as_tensor(floating.scaler.transform(history.to_numpy(np.float64)))
    origins = np.flatnonzero((history.index >= first) & (history.index <= last))
    latency = {}
    for batch in BATCHES:
        starts = origins[np.linspace(0, len(origins) - 1, batch).astype(int)] - floating.in_len
        x = cut_windows(values, starts, floating.in_len).float()

        def run(model: torch.nn.Module, x: torch.Tensor = x) -> None:
            with torch.inference_mode():
                model(x)

        fns = {
            "float": lambda: run(floating.model),
            "float_aot": lambda: run(float_aot),
            "int8": lambda: run(integer.model),
        }
        for fn in fns.values():
            fn()  # first calls: lazy initialisation, packing, caches
        times = turn_times(fns, steps)
        latency[batch] = {name: statistics.median(t) * 1e3 for name, t in times.items()}

    return {
        "in_len": floating.in_len,
        "parameters": sum(p.numel() for p in floating.model.parameters()),
        "build_seconds": build_seconds,
        "mse": mse,
        "size_mib": {"float": float_mib, "int8": int8_mib},
        "peak_mib": {kind: peak_forecast_mib(ckpt, kind) for kind in ("float", "int8")},
        "latency_ms": latency,
    }


def table(rows: list[dict[str, Any]]) -> str:
    """The figures as a markdown table: int8 against float, and the simulation's MSE."""
    head = ["size", "normaliser"]
    for batch in BATCHES:
        head += [f"float ms b{batch}", f"float AOT ms b{batch}", f"int8 ms b{batch}"]
        head += [f"int8/float b{batch}"]
    head += ["float MiB", "int8 MiB", "float peak MiB", "int8 peak MiB"]
    head += ["float MSE", "int8 MSE", "W8A8 MSE (sim.)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row["size"], row["variant"]]
        for batch in BATCHES:
            ms = row["latency_ms"][batch]
            cells += [f"{ms[k]:.2f}" for k in ("float", "float_aot", "int8")]
            cells.append(f"×{ms['int8'] / ms['float']:.2f}")
        cells += [f"{row['size_mib'][k]:.2f}" for k in ("float", "int8")]
        cells += [f"{row['peak_mib'][k]:.0f}" for k in ("float", "int8")]
        mse = row["mse"]
        cells.append(f"{mse['float']:.4f}")
        for k in ("int8", "w8a8"):
            cells.append(f"{mse[k]:.4f} ({(mse[k] / mse['float'] - 1) * 100:+.2f} %)")
        lines.append("| " + " | ".join(cells) + " |")
    slower = [
        f"{row['size']} {row['variant']} at batch {batch} (×{ms['int8'] / ms['float']:.2f})"
        for row in rows
        for batch, ms in row["latency_ms"].items()
        if ms["int8"] > ms["float"]
    ]
    lines.append("")
    lines.append("int8 slower than float: " + ("; ".join(slower) if slower else "nowhere"))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), default=["default"])
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--epochs", type=int, default=4, help="training epochs per model")
    parser.add_argument("--batches", type=int, default=100, help="training batches per epoch")
    parser.add_argument("--steps", type=int, default=50, help="timed forecasts per model")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--peak-child", nargs=2, metavar=("KIND", "CKPT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.peak_child:
        _peak_child(args.peak_child[0], Path(args.peak_child[1]))
        return
    if not (DATA_DIR / "ETTh1.csv").is_file():
        sys.exit(f"error: {DATA_DIR / 'ETTh1.csv'} not found")

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            for variant in args.variants:
                out = Path(tmp) / f"{size}-{variant}"
                ckpt = train_checkpoint(out, size, variant, args.epochs, args.batches)
                rows.append({"size": size, "variant": variant, **measure(ckpt, args.steps)})
                print(table(rows[-1:]).splitlines()[2], file=sys.stderr)
    print(table(rows))
    print(
        f"\n{torch.get_num_threads()} thread(s), torch {torch.__version__}, "
        f"{args.epochs} epochs of {args.batches} batches per model, {args.steps} turns"
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=str))


if __name__ == "__main__":
    main()
