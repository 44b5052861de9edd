"""torch's softmax kernel against :class:`ShortRowSoftmax` (whole-tensor operators, the
closed-form backward), forward and backward, for rows of several lengths: where
``SHORT_ROW`` in ``stanhop/model/normalizers.py`` comes from.

    python bench/softmax_rows.py                # softmax₁, 1 thread
    python bench/softmax_rows.py --normalizer softmax --threads 2 --json

Each row length ``m`` is normalised over a tensor of about 60,000 rows, the retrievals'
size in a `python train.py` step (batch 32, 7 series, 8 segments, 4 heads). The kernel
path is what the normaliser runs on rows of ``SHORT_ROW`` logits or more: softmax over the
zero-padded row for softmax₁, ``torch.softmax`` for softmax. Medians of ``--steps`` calls
taken in turn, fp32 (the normalisers run in fp32 at least).
"""

from __future__ import annotations

import argparse
import json
import statistics

import torch
import torch.nn.functional as F
from timing import median_ratio, turn_times

from stanhop.model.normalizers import ShortRowSoftmax

ROW_LENGTHS = [7, 8, 10, 12, 14, 16, 20, 28, 48]
ROWS = 60_000


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--normalizer", choices=["softmax", "softmax1"], default="softmax1")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    one = args.normalizer == "softmax1"

    def kernel(x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(F.pad(x, (0, 1)), dim=-1)[..., :-1] if one else torch.softmax(x, -1)

    rows = []
    for m in ROW_LENGTHS:
        scores = (3 * torch.randn(ROWS, m)).requires_grad_(True)
        upstream = torch.randn(ROWS, m)
        fns = {
            "kernel": lambda x=scores, g=upstream: kernel(x).backward(g),
            "short_row": lambda x=scores, g=upstream: ShortRowSoftmax.apply(x, one).backward(g),
        }
        for fn in fns.values():
            fn()
        times = turn_times(fns, args.steps)
        rows.append(
            {
                "logits_per_row": m + one,
                "kernel_ms": 1e3 * statistics.median(times["kernel"]),
                "short_row_ms": 1e3 * statistics.median(times["short_row"]),
                "short_row_over_kernel": median_ratio(times["short_row"], times["kernel"]),
            }
        )
    if args.json:
        print(json.dumps(rows))
        return
    print(f"{args.normalizer}, {ROWS} rows, forward + backward, {args.threads} thread(s)")
    print("logits/row  kernel ms  short-row ms  short-row / kernel")
    for r in rows:
        print(
            f"{r['logits_per_row']:>10}  {r['kernel_ms']:>9.2f}  {r['short_row_ms']:>12.2f}"
            f"  {r['short_row_over_kernel']:>18.2f}"
        )


if __name__ == "__main__":
    main()
