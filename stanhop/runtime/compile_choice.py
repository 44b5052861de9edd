"""Whether a run compiles its model (``compile=auto|true|false``), and why.

Compiling costs minutes once and saves a share of every later step. ``auto`` weighs the
two for the run at hand: the saving is :data:`COMPILE_SAVING` of the eager step, timed on
three steps of this model before training, times the steps the run may take (epochs ×
batches); the cost is :data:`COLD_COMPILE_S`, or :data:`WARM_COMPILE_S` where this
machine's persistent kernel cache already holds this model at these shapes (a ledger in
the cache folder records every model a run compiled). It compiles where the saving is
larger, and says so in one line with the figures.

A compiled run keeps one shape per graph: the training loader drops the last short batch
of an epoch (the windows are shuffled, so each epoch leaves out different ones) and
validation and test pad their last batch to the full size, so nothing compiles twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

# Measured at d_model 64 with two scales on a 2-core Xeon with AMX, one thread, bf16,
# fused AdamW (`bench/compile_time.py static small`, bench/RESULTS.md "Compile time"):
# the first compiled step took 193 s with a cold cache and 16 s from the persistent
# caches; a compiled step 0.104 s against 0.128 s eager.
COLD_COMPILE_S = 193.0
WARM_COMPILE_S = 16.0
COMPILE_SAVING = 1 - 0.104 / 0.128


@dataclass(frozen=True)
class CompileChoice:
    """Whether to compile, and the one line that says why."""

    enabled: bool
    reason: str


def max_time_s(value: Any) -> float | None:
    """Lightning's ``max_time`` ("DD:HH:MM:SS" or a mapping of days, hours, minutes,
    seconds) in seconds; None where there is no cap."""
    if value is None:
        return None
    if isinstance(value, str):
        days, hours, minutes, seconds = (int(part) for part in value.split(":"))
        return float(((days * 24 + hours) * 60 + minutes) * 60 + seconds)
    units = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}
    return float(sum(units[k] * v for k, v in dict(value).items()))


def expected_steps(batches: int, trainer: Any, step_s: float) -> int:
    """The most training steps a run with ``batches`` batches per epoch, of ``step_s``
    seconds each, may take under the trainer settings (``max_epochs``,
    ``limit_train_batches``, ``max_steps``, ``max_time``); early stopping may end it
    sooner."""
    limit = trainer.get("limit_train_batches")
    if isinstance(limit, int) and not isinstance(limit, bool):
        batches = min(batches, limit)
    elif isinstance(limit, float):
        batches = int(batches * limit)
    epochs = trainer.get("max_epochs")
    steps = batches * (1000 if epochs is None or epochs < 0 else epochs)
    max_steps = trainer.get("max_steps")
    if max_steps is not None and max_steps > 0:
        steps = min(steps, max_steps)
    cap = max_time_s(trainer.get("max_time"))
    if cap is not None:
        steps = min(steps, int(cap / step_s))
    return steps


def choose_compile(
    setting: Any, device: str, steps: int, eager_step_s: float | None, warm: bool
) -> CompileChoice:
    """``setting`` true or false is used as given; ``auto`` compiles on a CPU where
    ``steps`` × the saving per step exceeds the compile time (warm or cold)."""
    if setting is True or setting is False:
        return CompileChoice(setting, f"compile={str(setting).lower()} (as configured)")
    if setting != "auto":
        raise ValueError(f"compile={setting!r}: choose auto, true or false")
    if device != "cpu":
        return CompileChoice(
            False,
            f"compile auto: off (the saving on {device} has not been measured; "
            "compile=true to compile)",
        )
    assert eager_step_s is not None
    saving = steps * COMPILE_SAVING * eager_step_s
    cost = WARM_COMPILE_S if warm else COLD_COMPILE_S
    cache = "kernels in this machine's cache" if warm else "cold cache"
    enabled = saving > cost
    return CompileChoice(
        enabled,
        f"compile auto: {'on' if enabled else 'off'} (at most {steps:,} steps × "
        f"{COMPILE_SAVING:.0%} of a {eager_step_s:.3f} s step ≈ {saving:.0f} s saved, "
        f"against about {cost:.0f} s to compile, {cache}; compile=true|false to choose)",
    )


def run_device(accelerator: str) -> str:
    """The device a run's trainer will use: cuda where one is asked for or ``auto`` finds
    one, else cpu."""
    wants_gpu = accelerator in ("auto", "gpu", "cuda")
    return "cuda" if wants_gpu and torch.cuda.is_available() else "cpu"
