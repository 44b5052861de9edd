"""Compile time of the `python train.py`-size model, cold or from inductor's persistent
caches: the first compiled training step, a second one, and one on a shorter batch.

    TORCHINDUCTOR_CACHE_DIR=/tmp/inductor python bench/compile_time.py static   # cold
    TORCHINDUCTOR_CACHE_DIR=/tmp/inductor python bench/compile_time.py static   # warm
    python bench/compile_time.py static small   # d_model 64 at two scales

(``dynamic`` compiles with dynamic shapes from the start; the second argument is a
``--size`` of bench/step_time.py other than ``published``.) One thread, bf16 autocast,
fused AdamW, as a `python train.py` step.
"""

import json
import os
import sys
import time

import torch
import torch.nn.functional as F
from step_time import SIZES  # bench/: on sys.path

from stanhop.model import build_model


def main(mode: str, size: str = "train-run") -> dict:
    """Build the model at ``size``, compile it (``mode`` ``dynamic`` or ``static``) and
    time three steps."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    widths = SIZES[size]()
    m = build_model({"name": "stanhop", "n_series": 7, "out_len": 24, "revin": True, **widths})
    m.compile(dynamic=mode == "dynamic")
    opt = torch.optim.AdamW(m.parameters(), fused=True)

    def step(b: int) -> float:
        """One training step on a batch of ``b`` windows; its wall time."""
        start = time.perf_counter()
        x, y = torch.randn(b, widths["in_len"], 7), torch.randn(b, 24, 7)
        m.train()
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            p = m(x)
        F.mse_loss(p.float(), y).backward()
        opt.step()
        return time.perf_counter() - start

    first, second, short = step(32), step(32), step(17)
    result = {"mode": mode, "size": size, "first_step_s": first, "second_step_s": second}
    return result | {
        "short_batch_step_s": short,
        "cache": os.environ.get("TORCHINDUCTOR_CACHE_DIR"),
    }


if __name__ == "__main__":
    print(json.dumps(main(*(sys.argv[1:] or ["static"]))))
