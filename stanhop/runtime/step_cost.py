"""What one training step of a model costs, for the run's plan
(:mod:`stanhop.runtime.plan`): the arithmetic and operators of a forward, counted on
the meta device for the thread choice, and the seconds of an eager step, timed for the
compile choice."""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from stanhop.model import HopfieldLayer, build_model
from stanhop.runtime.operators import count_operators
from stanhop.runtime.precision import BF16_MIXED
from stanhop.runtime.threads import ForwardCost


def forward_cost(spec: dict[str, Any], batch: int) -> ForwardCost:
    """The cost of a training-mode forward of the model ``spec`` describes on a batch of
    ``batch`` windows, counted on the meta device: shapes only, nothing computed.

    On the retrieval path a CPU takes in training (with dropout, the batched one where the
    layer would fuse; see :func:`stanhop.model.retrieval.retrieve_fused`); dropout is
    torch's on the meta device, which dispatches a different number of operators than
    the CPU's cheaper mask.
    """
    with torch.device("meta"):
        model = build_model(spec).train()
        x = torch.empty(batch, spec["in_len"], spec["n_series"])
    for layer in model.modules():
        if isinstance(layer, HopfieldLayer) and layer.retrieval == "fused":
            layer.retrieval = "batched"
    with FlopCounterMode(display=False) as flops:
        operators = count_operators(lambda: model(x))
    return ForwardCost(flops.get_total_flops(), sum(operators.values()))


def time_eager_step(
    model: torch.nn.Module, batch: int, precision: str, n_future: int = 0, repeats: int = 3
) -> float:
    """Median seconds of a training forward and backward of ``model`` on random windows
    of ``batch``, under the run's precision; the random number streams and gradients
    are left as they were."""
    cfg = model.cfg
    times = []
    with torch.random.fork_rng(devices=[]):
        x = torch.randn(batch, cfg.in_len, cfg.n_series)
        future = (torch.randn(batch, cfg.out_len, n_future),) if n_future else ()
        was_training = model.training
        model.train()
        for _ in range(repeats + 1):
            start = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == BF16_MIXED):
                pred = model(x, *future)
            F.mse_loss(pred.float(), torch.zeros_like(pred, dtype=torch.float32)).backward()
            times.append(time.perf_counter() - start)
        model.train(was_training)
    model.zero_grad(set_to_none=True)
    return statistics.median(times[1:])
