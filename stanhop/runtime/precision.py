"""The training precision that ``trainer.precision=auto`` stands for on this machine.

bf16 mixed precision (matrix products in bfloat16 under ``torch.autocast``, fp32 master
weights) is fast only where the hardware multiplies bf16 matrices natively: x86 CPUs with
AVX512-BF16 or AMX, and CUDA GPUs with bf16 support. Elsewhere bf16 is emulated and slower
than fp32, so ``auto`` falls back to 32-bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

AUTO = "auto"
BF16_MIXED = "bf16-mixed"
FP32 = "32-true"
# The short names of the command-line tools (forecast.py --precision, bench/step_time.py)
# for Lightning's.
SHORT_NAMES = {"32": FP32, "bf16": BF16_MIXED, "auto": AUTO}


@dataclass(frozen=True)
class Capability:
    """What the hardware a run would use can do with bf16, and what it is called."""

    native_bf16: bool
    device: str


def cuda_capability() -> Capability:
    """The first CUDA device's bf16 support (``torch.cuda.is_bf16_supported``)."""
    name = torch.cuda.get_device_name(0)
    return Capability(native_bf16=torch.cuda.is_bf16_supported(), device=f"CUDA GPU {name}")


def cpu_capability() -> Capability:
    """This CPU's bf16 matrix support: AVX512-BF16 or AMX tiles, as torch detects them."""
    flags = [
        name
        for name, supported in (
            ("AVX512-BF16", torch.cpu._is_avx512_bf16_supported()),
            ("AMX", torch.cpu._is_amx_tile_supported()),
        )
        if supported
    ]
    detail = " and ".join(flags) if flags else "neither AVX512-BF16 nor AMX"
    return Capability(native_bf16=bool(flags), device=f"this CPU ({detail})")


def uses_cuda(accelerator: str) -> bool:
    """Whether Lightning's ``accelerator`` setting runs on a CUDA GPU here."""
    return accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())


def auto_precision(capability: Capability) -> tuple[str, str]:
    """What ``auto`` becomes on hardware with ``capability``, and a one-line reason:
    ``bf16-mixed`` where it multiplies bf16 natively, ``32-true`` elsewhere."""
    if capability.native_bf16:
        return BF16_MIXED, (
            f"precision bf16-mixed: {capability.device} multiplies bf16 matrices natively "
            "(trainer.precision=32-true for full fp32)"
        )
    return FP32, (
        f"precision 32-true: {capability.device} has no native bf16 matrix products "
        "(trainer.precision=bf16-mixed forces it)"
    )


def resolve_precision(requested: str | int, accelerator: str) -> tuple[str | int, str]:
    """The Lightning precision for ``requested`` on the device that Lightning's
    ``accelerator`` setting selects, and a one-line reason; anything but ``auto`` wins."""
    if str(requested) != AUTO:
        return requested, f"precision {requested} (trainer.precision, as set)"
    capability = cuda_capability() if uses_cuda(accelerator) else cpu_capability()
    return auto_precision(capability)
