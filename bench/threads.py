"""One thread against several for a training step, quiet and with a busy process on one
core: the two thread counts take turns step by step in one process.

    python bench/threads.py                     # the size `python train.py` trains
    python bench/threads.py --size published    # ETTh1 published settings
    python bench/threads.py --size small        # d_model 64 at two scales
    python bench/threads.py --threads 2 --busy  # also with a busy process on one core

Reports the median of the step-by-step ratios (several threads / one thread) of the
default path's training step; below 1 the extra threads pay.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import torch
from step_time import SIZES
from timing import busy_core, median_ratio, step_functions  # bench/: on sys.path

from stanhop.model import build_model
from stanhop.runtime.precision import BF16_MIXED, resolve_precision

PUBLISHED = dict(in_len=168, out_len=24, seg_len=6, d_model=256, d_ff=512, e_layers=3, revin=False)


def thread_ratio(
    train_step: Callable[[], None], threads: int, steps: int
) -> tuple[float, float, float]:
    """(median ratio, median time with ``threads``, median time with one thread)."""
    times: dict[int, list[float]] = {1: [], threads: []}
    for _ in range(steps):
        for n in (1, threads):
            torch.set_num_threads(n)
            start = time.perf_counter()
            train_step()
            times[n].append(time.perf_counter() - start)
    ratio = median_ratio(times[threads], times[1])
    return ratio, statistics.median(times[threads]), statistics.median(times[1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--size",
        choices=["published", *SIZES],
        default="train-run",
        help="the widths, as bench/step_time.py's --size (default: `python train.py`'s)",
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--busy", action="store_true")
    args = p.parse_args()
    if args.size == "published":
        shape = PUBLISHED
    else:
        shape = {"out_len": 24, "revin": True, **SIZES[args.size]()}
    torch.manual_seed(0)
    model = build_model({"name": "stanhop", "n_series": 7, **shape})
    x, y = torch.randn(32, shape["in_len"], 7), torch.randn(32, shape["out_len"], 7)
    precision, _ = resolve_precision("auto", "cpu")
    train_step, _ = step_functions(model, x, y, bf16=precision == BF16_MIXED)
    for n in (1, args.threads):
        torch.set_num_threads(n)
        train_step()
    result = {"size": args.size, "threads": args.threads}
    result["quiet"] = thread_ratio(train_step, args.threads, args.steps)
    if args.busy:
        with busy_core():
            result["busy"] = thread_ratio(train_step, args.threads, args.steps)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
