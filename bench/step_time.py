"""Median time of a training step and of an inference batch, and peak memory, of one model
on random data: the default path (the precision ``trainer.precision=auto`` picks here and
the fast path) against the fp32 reference (the plain path), steps taken in turn in one
process.

    python bench/step_time.py --threads 2                  # ETTh1 published settings, outeffhop
    python bench/step_time.py --hopfield softmax --threads 2 --json
    python bench/step_time.py --precision 32               # the fast path in fp32
    python bench/step_time.py --series 321 --batch 4       # many series
    python bench/step_time.py --model dlinear
    python bench/step_time.py --device cuda                # on a CUDA GPU
    python bench/step_time.py --busy --threads 2           # with a busy process on one core
    python bench/step_time.py --series 321 --batch 4 --cross-series router
    python bench/step_time.py --size train-run --threads 1 # the size `python train.py` trains
    python bench/step_time.py --size small --threads 1     # d_model 64 at two scales

The defaults are the published ETTh1 horizon-24 settings (conf/experiment/etth1_24.yaml).
--hopfield names a file of conf/hopfield/. Peak memory is that of this whole process, so
run one configuration per process (bench/scale.py does). Every comparison takes turns step
by step and reports the median of the step-by-step ratios, except --busy's: a busy process
cannot start and stop between steps, so it reports busy / quiet medians measured back to
back, --busy-repeats times. Operators per step are counted by stanhop.runtime.operators.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf
from timing import measure  # bench/timing.py: this script's folder is on sys.path

from stanhop.data.freq import segment_length
from stanhop.data.synthetic import FREQ as SYNTHETIC_FREQ
from stanhop.model.cross_series import CROSS_SERIES
from stanhop.runtime.precision import SHORT_NAMES

CONF_DIR = Path(__file__).resolve().parents[1] / "stanhop" / "conf"
# Settings that only one of the models has, left out of the other's report.
STANHOP_ONLY = {"hopfield", "seg_len", "d_model", "d_ff", "heads", "e_layers", "win_size"}
STANHOP_ONLY |= {"factor", "dropout", "cross_series"}
DLINEAR_ONLY = {"kernel_size"}


def hopfield_config(name: str) -> dict[str, Any]:
    """The ``hopfield`` group option ``name`` as a plain dict."""
    path = CONF_DIR / "hopfield" / f"{name}.yaml"
    if not path.is_file():
        options = sorted(p.stem for p in (CONF_DIR / "hopfield").glob("*.yaml"))
        raise SystemExit(f"error: unknown --hopfield {name!r}; choose one of {options}")
    return OmegaConf.to_container(OmegaConf.load(path), resolve=True)


def model_spec(args: argparse.Namespace) -> dict[str, Any]:
    common = {"n_series": args.series, "in_len": args.in_len, "out_len": args.out_len}
    if args.model == "dlinear":
        return {"name": "dlinear", **common, "kernel_size": args.kernel_size}
    return {
        "name": "stanhop",
        **common,
        "seg_len": args.seg_len,
        "win_size": args.win_size,
        "factor": args.factor,
        "cross_series": args.cross_series,
        "d_model": args.d_model,
        "d_ff": args.d_ff,
        "n_heads": args.heads,
        "e_layers": args.e_layers,
        "dropout": args.dropout,
        "revin": False,
        "hopfield": hopfield_config(args.hopfield),
    }


def train_run_widths() -> dict[str, int]:
    """The widths `python train.py` trains: conf/model/stanhop.yaml's, with the synthetic
    data's in_len and the segment ``seg_len=auto`` takes for its hourly steps."""
    model = OmegaConf.load(CONF_DIR / "model" / "stanhop.yaml")
    data = OmegaConf.load(CONF_DIR / "data" / "synthetic.yaml")
    widths = {k: model[k] for k in ("seg_len", "d_model", "d_ff", "e_layers")}
    if widths["seg_len"] == "auto":
        widths["seg_len"] = segment_length(SYNTHETIC_FREQ, data.in_len)
    return {"in_len": data.in_len, **widths}


# The widths of --size; flags given explicitly still win. small: d_model 64 at two scales,
# the width of the untuned accuracy table (bench/accuracy.py --quick).
SIZES = {
    "train-run": train_run_widths,
    "small": lambda: {"in_len": 96, "seg_len": 12, "d_model": 64, "d_ff": 128, "e_layers": 2},
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--size",
        choices=["published", *SIZES],
        default="published",
        help="defaults of the widths: ETTh1's published settings, `python train.py`'s, "
        "or d_model 64 at two scales (small)",
    )
    p.add_argument("--model", choices=["stanhop", "dlinear"], default="stanhop")
    p.add_argument("--hopfield", default="outeffhop", help="a conf/hopfield option")
    p.add_argument("--in-len", type=int, default=168)
    p.add_argument("--out-len", type=int, default=24)
    p.add_argument("--seg-len", type=int, default=6)
    p.add_argument("--d-model", type=int, default=256)
    p.add_argument("--d-ff", type=int, default=512)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--e-layers", type=int, default=3)
    p.add_argument("--win-size", type=int, default=2)
    p.add_argument("--factor", type=int, default=10)
    p.add_argument(
        "--cross-series",
        choices=sorted(CROSS_SERIES),
        default="full",
        help="how series retrieve from each other (router: linear in the series count)",
    )
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--kernel-size", type=int, default=25, help="DLinear's moving average")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--series", type=int, default=7)
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    p.add_argument("--steps", type=int, default=10, help="timed steps (median reported)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    p.add_argument(
        "--precision",
        choices=sorted(SHORT_NAMES),
        default="auto",
        help="of the default path (auto: bf16 where the hardware multiplies it natively)",
    )
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--no-reference", action="store_true", help="skip timing the reference path")
    p.add_argument("--compile", action="store_true", help="torch.compile the model first")
    p.add_argument(
        "--busy",
        action="store_true",
        help="also time the default path with a busy process spinning on one core",
    )
    p.add_argument("--busy-repeats", type=int, default=3, help="quiet/busy pairs with --busy")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    size = p.parse_known_args(argv)[0].size
    if size in SIZES:
        p.set_defaults(**SIZES[size]())
    args = p.parse_args(argv)
    if args.steps < 1 or args.warmup < 0:
        p.error("--steps must be at least 1 and --warmup at least 0")
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Measure the configuration ``args`` describes; the result holds the settings too."""
    torch.set_num_threads(args.threads)
    spec = model_spec(args)
    result = measure(
        spec,
        batch=args.batch,
        steps=args.steps,
        warmup=args.warmup,
        precision=SHORT_NAMES[args.precision],
        compare_reference=not args.no_reference,
        compile_model=args.compile,
        device=args.device,
        busy_repeats=args.busy_repeats if args.busy else 0,
    )
    own = DLINEAR_ONLY if args.model == "stanhop" else STANHOP_ONLY
    settings = {k: v for k, v in vars(args).items() if k != "json" and k not in own}
    return {**settings, "torch": torch.__version__, **result}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = run(args)
    if args.json:
        print(json.dumps(result))
        return
    name = args.model if args.model == "dlinear" else f"stanhop hopfield={args.hopfield}"
    print(
        f"{name}: batch {args.batch}, series {args.series}, in {args.in_len} -> out "
        f"{args.out_len}, threads {args.threads}, {result['parameters']:,} parameters"
    )
    print(f"{'path':<34} {'train step':>11} {'inference':>10}")
    default = f"default ({result['precision']}, {result['retrieval']})"
    print(f"{default:<34} {result['train_step_s']:>10.4f}s {result['infer_s']:>9.4f}s")
    if "reference_train_step_s" in result:
        print(
            f"{'reference (32-true, plain path)':<34} {result['reference_train_step_s']:>10.4f}s "
            f"{result['reference_infer_s']:>9.4f}s"
        )
        print(
            f"default / reference: train step x{1 / result['train_speedup']:.2f}, "
            f"inference x{1 / result['infer_speedup']:.2f}"
        )
    ops = f"operators per training step: default {result['train_step_ops']:,}"
    if "reference_train_step_ops" in result:
        ops += f", reference {result['reference_train_step_ops']:,}"
    print(f"{ops}; {result['train_step_flops'] / 1e9:.2f} GFLOP per training step")
    if args.busy:
        ratios = ", ".join(f"x{r:.2f}" for r in result["busy_train_ratios"])
        infer = ", ".join(f"x{r:.2f}" for r in result["busy_infer_ratios"])
        print(f"with a busy process on one core: train step {ratios}; inference {infer}")
    if args.compile:
        print(f"compilation and {args.warmup} warm-up steps: {result['warmup_s']:.1f}s")
    print(
        f"peak RSS {result['peak_rss_mib']:.0f} MiB "
        f"({result['peak_rss_mib'] - result['rss_before_mib']:.0f} MiB above the process "
        "before the model was built)"
    )


if __name__ == "__main__":
    main()
