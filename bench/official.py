"""Our STanHop-Net against the authors' official code (the OutEffHop release, softmax1),
both in one process, training steps and inference batches taking turns step by step.

    git clone https://github.com/MAGICS-LAB/OutEffHop
    python bench/official.py --official OutEffHop --size train-run --threads 2
    python bench/official.py --official OutEffHop --size published --threads 2 --json
    STANHOP_OFFICIAL=OutEffHop python bench/official.py --threads 1 --steps 20

Theirs runs as their training script runs it: fp32, Adam (lr 1e-4, no weight decay), MSE,
gradients clipped to norm 5. Ours runs the default path: the precision
``trainer.precision=auto`` picks here, the fast path, fused AdamW, gradients clipped to
norm 1 (bench/timing.py's step, the one bench/step_time.py times). Both see the same
random batch. ``--size`` gives bench/step_time.py's widths: ``published`` (ETTh1
horizon 24: in 168, seg 6, d_model 256, d_ff 512, e_layers 3, win 2, factor 10, 4 heads),
``train-run`` (what ``python train.py`` trains: in 96, seg 12, d_model 128, d_ff 256,
e_layers 1) or ``small`` (in 96, seg 12, d_model 64, d_ff 128, e_layers 2). The ratios
are medians of step-by-step ratios ours / theirs: steps taken side by side met the same
load, so they hold on a busy machine where the times do not.
Their code is imported from the checkout at run time; nothing of it is part of this project.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import step_time  # bench/step_time.py: this script's folder is on sys.path
import torch
from timing import median_ratio, step_functions, turn_times
from torch import nn

from stanhop.model import build_model
from stanhop.runtime.precision import BF16_MIXED, resolve_precision

OFFICIAL_ENV = "STANHOP_OFFICIAL"
CLONE = "git clone https://github.com/MAGICS-LAB/OutEffHop"
# The folder of the release that holds the time-series model (cross_models/).
MODELS_DIR = "STanHop_time_seeries"
# Their training recipe (cross_exp/exp_stanhop.py, main_stanhop.py's defaults).
OFFICIAL_LR = 1e-4
OFFICIAL_WEIGHT_DECAY = 0.0
OFFICIAL_CLIP_NORM = 5.0


def fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def official_models_dir(path: str | None) -> Path:
    """The folder of the authors' time-series code inside the checkout ``path`` (the
    repository root or that folder itself); a one-line error, exit 2, when it is not there."""
    how = f"get it with `{CLONE}` and pass --official OutEffHop (or set {OFFICIAL_ENV})"
    if not path:
        fail(f"no checkout of the authors' code given; {how}")
    root = Path(path).expanduser()
    for candidate in (root / MODELS_DIR, root):
        if (candidate / "cross_models" / "stanhop.py").is_file():
            return candidate.resolve()
    fail(f"{path} holds no {MODELS_DIR}/cross_models/stanhop.py; {how}")


def official_class(models_dir: Path) -> type[nn.Module]:
    """The authors' ``STanHopNet`` class, imported from their checkout (their folder
    appended to ``sys.path``, so it shadows no other module)."""
    sys.path.append(str(models_dir))
    try:
        module = importlib.import_module("cross_models.stanhop")
    except ImportError as err:
        fail(f"the authors' code at {models_dir} does not import: {err}")
    return module.STanHopNet


def build_official(cls: type[nn.Module], spec: dict[str, Any]) -> nn.Module:
    """The authors' network with the widths of ``spec`` (a :func:`build_model` dict of
    STanHop-Net with the softmax1 normaliser), built as their experiment builds it."""
    model = cls(
        data_dim=spec["n_series"],
        in_len=spec["in_len"],
        out_len=spec["out_len"],
        seg_len=spec["seg_len"],
        win_size=spec["win_size"],
        factor=spec["factor"],
        d_model=spec["d_model"],
        d_ff=spec["d_ff"],
        n_heads=spec["n_heads"],
        e_layers=spec["e_layers"],
        dropout=spec["dropout"],
        device=torch.device("cpu"),
        mode="softmax1",
    ).float()
    # Their pooling patterns (HopfieldPooling.key) are torch.empty and never initialised:
    # whatever the memory held, often NaN or 1e37, which turns every prediction into NaN.
    # They get the standard normal start our patterns get, so both compute on finite numbers.
    for name, param in model.named_parameters():
        if name.endswith("cross_series.key"):
            nn.init.normal_(param)
    return model


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--official",
        default=os.environ.get(OFFICIAL_ENV),
        help=f"checkout of the authors' code ({CLONE}); default ${OFFICIAL_ENV}",
    )
    p.add_argument("--size", choices=["published", *step_time.SIZES], default="published")
    p.add_argument("--series", type=int, default=7)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    p.add_argument("--steps", type=int, default=20, help="timed steps of each (medians)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps of each first")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    # One-line errors, exit 2, as the rest of this script's errors.
    p.error = lambda message: fail(f"{message} (see {p.prog} --help)")  # type: ignore[method-assign]
    args = p.parse_args(argv)
    for name in ("series", "batch", "threads", "steps"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.warmup < 0:
        p.error(f"--warmup must be at least 0, got {args.warmup}")
    return args


def our_spec(size: str, n_series: int) -> dict[str, Any]:
    """bench/step_time.py's model at ``size`` (the outeffhop Hopfield option)."""
    args = step_time.parse_args(["--size", size, "--series", str(n_series)])
    return step_time.model_spec(args)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Build both models at ``args.size`` and time them in turns; the result holds the
    settings, the parameter counts, the medians and the median ratios ours / theirs."""
    cls = official_class(official_models_dir(args.official))
    torch.set_num_threads(args.threads)
    spec = our_spec(args.size, args.series)
    precision, _ = resolve_precision("auto", "cpu")
    torch.manual_seed(args.seed)
    ours = build_model(spec)
    torch.manual_seed(args.seed)
    theirs = build_official(cls, spec)
    x = torch.randn(args.batch, spec["in_len"], spec["n_series"])
    y = torch.randn(args.batch, spec["out_len"], spec["n_series"])
    train, infer = {}, {}
    adam = torch.optim.Adam(theirs.parameters(), lr=OFFICIAL_LR, weight_decay=OFFICIAL_WEIGHT_DECAY)
    train["theirs"], infer["theirs"] = step_functions(
        theirs, x, y, optimizer=adam, clip_norm=OFFICIAL_CLIP_NORM
    )
    train["ours"], infer["ours"] = step_functions(ours, x, y, bf16=precision == BF16_MIXED)
    start = time.perf_counter()
    for _ in range(args.warmup):
        for name in ("theirs", "ours"):
            train[name]()
            infer[name]()
    warmup_s = time.perf_counter() - start
    train_t = turn_times(train, args.steps)
    infer_t = turn_times(infer, args.steps)
    settings = {k: v for k, v in vars(args).items() if k not in ("json", "official")}
    widths = {k: spec[k] for k in ("in_len", "out_len", "seg_len", "win_size", "factor")}
    widths |= {k: spec[k] for k in ("d_model", "d_ff", "n_heads", "e_layers", "dropout")}
    return {
        **settings,
        **widths,
        "torch": torch.__version__,
        "precision": precision,
        "parameters": parameter_count(ours),
        "official_parameters": parameter_count(theirs),
        "warmup_s": warmup_s,
        "train_step_s": statistics.median(train_t["ours"]),
        "infer_s": statistics.median(infer_t["ours"]),
        "official_train_step_s": statistics.median(train_t["theirs"]),
        "official_infer_s": statistics.median(infer_t["theirs"]),
        "train_ratio": median_ratio(train_t["ours"], train_t["theirs"]),
        "infer_ratio": median_ratio(infer_t["ours"], infer_t["theirs"]),
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = run(args)
    if result["parameters"] != result["official_parameters"]:
        print(
            f"warning: the two models differ in size ({result['parameters']:,} parameters "
            f"here, {result['official_parameters']:,} in the authors' code): the times "
            "compare different networks",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"STanHop-Net --size {args.size}: batch {args.batch}, series {args.series}, "
        f"in {result['in_len']} -> out {result['out_len']}, d_model {result['d_model']}, "
        f"e_layers {result['e_layers']}, threads {args.threads}, {args.steps} steps in turn"
    )
    print(f"parameters: ours {result['parameters']:,}, authors' {result['official_parameters']:,}")
    print(f"{'':<38} {'train step':>11} {'inference':>10}")
    ours = f"ours (default path, {result['precision']})"
    print(f"{ours:<38} {result['train_step_s']:>10.4f}s {result['infer_s']:>9.4f}s")
    theirs = "authors' code (32-true, Adam)"
    print(
        f"{theirs:<38} {result['official_train_step_s']:>10.4f}s "
        f"{result['official_infer_s']:>9.4f}s"
    )
    print(
        f"ours / authors' (median of step-by-step ratios): train step "
        f"x{result['train_ratio']:.2f}, inference x{result['infer_ratio']:.2f}"
    )


if __name__ == "__main__":
    main()
