"""One Hopfield retrieval on the reference path (einsums, the normaliser's weights
materialised) against torch's fused kernel (``scaled_dot_product_attention``), for
several numbers of state and stored patterns: where the fused kernel pays on this machine.

    python bench/retrieval.py                   # softmax₁, 1 thread, fp32 and bf16
    python bench/retrieval.py --threads 2 --json

Per head, ``n`` state patterns retrieve from ``m`` stored ones; the batch × heads count
keeps the work near that of the published ETTh1 model's layers (28 × 28 temporal
retrievals over 224 series windows and 4 heads; 7 × 10 and 10 × 7 across series).
Inference only (``no_grad``, no dropout), medians of ``--steps`` calls taken in turn.
``CPU_FUSED_MIN_SCORES`` in ``stanhop/model/retrieval.py`` is set from this table.
"""

from __future__ import annotations

import argparse
import json

import torch
from timing import median_seconds

from stanhop.model.dropout import Dropout
from stanhop.model.normalizers import NORMALIZERS
from stanhop.model.retrieval import retrieve, retrieve_sdpa

# (batch × heads, n, m)
SHAPES = [(896, 28, 28), (3584, 7, 10), (3584, 10, 7), (896, 60, 60), (896, 120, 120)]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--normalizer", choices=["softmax", "softmax1"], default="softmax1")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    normalizer, dropout = NORMALIZERS[args.normalizer](), Dropout(0.0)
    rows = []
    for batch_heads, n, m in SHAPES:
        for dtype in (torch.float32, torch.bfloat16):
            q = torch.randn(batch_heads // 4, 4, n, 64, dtype=dtype)
            k, v = (torch.randn(batch_heads // 4, 4, m, 64, dtype=dtype) for _ in range(2))
            inputs = (q, k, v, normalizer, 0.125, dropout)
            fns = {
                path.__name__: lambda path=path, inputs=inputs: path(*inputs)
                for path in (retrieve, retrieve_sdpa)
            }
            with torch.no_grad():
                for fn in fns.values():
                    fn()
                times = median_seconds(fns, args.steps)
            rows.append(
                {
                    "batch_heads": batch_heads,
                    "n": n,
                    "m": m,
                    "dtype": str(dtype).removeprefix("torch."),
                    "reference_ms": times["retrieve"] * 1e3,
                    "fused_ms": times["retrieve_sdpa"] * 1e3,
                    "fused_over_reference": times["retrieve_sdpa"] / times["retrieve"],
                }
            )
    if args.json:
        print(json.dumps(rows))
        return
    print(f"{args.normalizer}, {args.threads} thread(s), inference")
    print(f"{'b·h':>5} {'n':>4} {'m':>4} {'dtype':>9} {'reference':>10} {'fused':>9} {'ratio':>6}")
    for r in rows:
        print(
            f"{r['batch_heads']:>5} {r['n']:>4} {r['m']:>4} {r['dtype']:>9} "
            f"{r['reference_ms']:>8.2f}ms {r['fused_ms']:>7.2f}ms {r['fused_over_reference']:>6.2f}"
        )


if __name__ == "__main__":
    main()
