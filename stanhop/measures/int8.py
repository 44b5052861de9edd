"""Real INT8 inference on x86 CPUs: a model whose Linear layers run oneDNN's integer
kernels (VNNI, AMX where the CPU has them), saved as one file that loads without
calibrating or compiling again.

The path is PyTorch 2's export quantization (PT2E) with torchao's
``X86InductorQuantizer``, lowered ahead of time by AOTInductor:

1. ``torch.export`` the float model (plain path, batch dimension dynamic);
2. annotate it with the quantizer's default recipe: every Linear's weight as signed int8,
   symmetric, per output channel, and its input as unsigned int8, asymmetric, per tensor;
3. calibrate the activation ranges (static: min/max observers over the calibration
   batches), then convert: the weights are stored as int8 tensors, every quantised
   activation becomes a quantize/dequantize pair;
4. export again and compile with AOTInductor with freezing on, which folds each
   dequantize → linear → quantize pattern into one ``onednn.qlinear_pointwise`` kernel
   that reads uint8 activations and int8 weights and accumulates in int32.

Operators outside the Linear layers (retrieval products, normalisers, LayerNorm,
RevIN) stay in fp32, between a dequantize and the next quantize. The result is a
``.pt2`` package: the compiled kernels with the int8 weights inside.
"""

from __future__ import annotations

import os
import platform
import tempfile
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

from stanhop.measures.fake_quant import detached_copy
from stanhop.measures.quant_backend import (
    X86InductorQuantizer,
    convert_pt2e,
    get_default_x86_inductor_quantization_config,
    prepare_pt2e,
)
from stanhop.model.hopfield import use_reference_path

# The file name of a saved integer model, after the checkpoint's stem: best.int8.pt2.
SUFFIX = ".int8.pt2"
# The fused integer linear kernel AOTInductor calls for each quantised Linear.
QLINEAR = "qlinear_pointwise"

Batch = tuple[torch.Tensor, ...]


class Int8Error(ValueError):
    """A model or a machine the integer path cannot take, in one line naming it."""


class Int8Model(nn.Module):
    """The compiled integer model, called like the float one: ``x`` (b, in_len, c)
    [, ``future`` (b, out_len, f)] → forecast (b, out_len, k), in fp32.

    ``reference`` is the float model it was quantised from, kept (not run) because it
    describes the integer one: where it runs, its RevIN (prediction intervals scale by
    each window's spread) and its targets. ``path`` is the package it runs from.
    """

    def __init__(self, runner: object, reference: nn.Module, path: Path) -> None:
        super().__init__()
        self.reference = reference
        self.path = Path(path)
        self._runner = runner

    def forward(self, x: torch.Tensor, *future: torch.Tensor) -> torch.Tensor:
        return self._runner(x, *future)


def check_platform(model: nn.Module) -> None:
    """Raise :class:`Int8Error` unless ``model`` is on the CPU of an x86-64 machine with
    oneDNN, where the integer kernels exist."""
    device = next(model.parameters()).device
    if device.type != "cpu":
        raise Int8Error(
            f"the int8 path runs on the CPU, but the model is on {device}; load it with "
            "map_location='cpu'"
        )
    machine = platform.machine().lower()
    if machine not in ("x86_64", "amd64") or not torch.backends.mkldnn.is_available():
        raise Int8Error(
            f"the int8 path needs an x86-64 CPU with oneDNN, and this is {machine}; use the "
            "simulated w8a8 instead"
        )


@contextmanager
def _innermost_layer(model: nn.Module) -> Iterator[list[str]]:
    """Track the layers entered and not yet left while ``model`` runs: after a failure,
    the last entry names the layer that failed (empty: outside every layer)."""
    stack: list[str] = []

    def leave(*_: object) -> None:  # a forward hook's return value would replace the output
        stack.pop()

    handles = []
    for name, module in model.named_modules():
        if name:
            handles.append(module.register_forward_pre_hook(lambda *_, n=name: stack.append(n)))
            handles.append(module.register_forward_hook(leave))
    try:
        yield stack
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def _no_copy_warnings() -> Iterator[None]:
    """torchao's convert and Inductor's oneDNN lowering build each scale and zero point
    with ``torch.tensor(tensor)``, which warns once per quantised layer about a copy that
    is intended; the warnings would only alarm users."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "To copy construct from a tensor", UserWarning)
        yield


def _reason(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__


def _batch_dims(example: Batch) -> tuple[dict[int, torch.export.Dim], ...]:
    # One symbol for the batch of every input, so one package serves any batch size.
    batch = torch.export.Dim("batch", min=1)
    return tuple({0: batch} for _ in example)


def _export(model: nn.Module, example: Batch, what: str) -> torch.export.ExportedProgram:
    # An example batch of 1 would be specialised to 1 (a size-1 dimension is treated as
    # broadcastable); 2 rows trace the general case.
    if example[0].shape[0] == 1:
        example = tuple(t.expand(2, *t.shape[1:]) for t in example)
    with _innermost_layer(model) as stack:
        try:
            return torch.export.export(
                model, example, dynamic_shapes=_batch_dims(example), strict=False
            )
        except Exception as err:
            where = f"its layer {stack[-1]!r}" if stack else type(model).__name__
            raise Int8Error(
                f"the int8 path cannot take {what}: torch.export fails in {where} "
                f"({_reason(err)}); use the simulated w8a8 instead"
            ) from err


def quantized_program(
    model: nn.Module, batches: Iterable[torch.Tensor | Batch]
) -> tuple[torch.fx.GraphModule, Batch]:
    """Steps 1–3 of the module's path on a copy of ``model`` (never modified): the
    converted program, its Linear weights int8, and an example batch of its inputs.
    ``batches``: the calibration inputs, each ``x`` or a tuple ``(x, future)``."""
    check_platform(model)
    what = type(model).__name__
    batches = [b if isinstance(b, tuple) else (b,) for b in batches]
    if not batches:
        raise Int8Error("int8 calibration needs at least one batch of inputs")
    model = detached_copy(model)
    # The plain path: each projection its own Linear (the fast path multiplies by weights
    # stacked at run time, which the quantizer cannot fold into one constant).
    use_reference_path(model)
    exported = _export(model, batches[0], what)
    quantizer = X86InductorQuantizer()
    quantizer.set_global(get_default_x86_inductor_quantization_config())
    prepared = prepare_pt2e(exported.module(), quantizer)
    with torch.no_grad():
        for batch in batches:
            prepared(*batch)
    with _no_copy_warnings():
        return convert_pt2e(prepared), batches[0]


def compile_program(program: torch.fx.GraphModule, example: Batch, path: Path) -> Path:
    """Step 4: compile ``program`` with AOTInductor into the package ``path`` (written
    whole or not at all)."""
    path = Path(path)
    exported = _export(program, example, "the quantised model")
    fd, partial = tempfile.mkstemp(suffix=".pt2", dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        with torch.no_grad(), _no_copy_warnings():
            # Freezing turns the weights into constants, which is what lets the pattern
            # passes replace dequantize → linear → quantize with the integer kernel.
            torch._inductor.aoti_compile_and_package(
                exported, package_path=partial, inductor_configs={"freezing": True}
            )
        os.replace(partial, path)
    except Exception as err:
        raise Int8Error(
            f"compiling the integer model failed ({_reason(err)}); AOTInductor needs a C++ "
            "compiler (g++ or clang++ on the PATH)"
        ) from err
    finally:
        Path(partial).unlink(missing_ok=True)
    return path


def quantize_int8(
    model: nn.Module, batches: Iterable[torch.Tensor | Batch], path: Path
) -> Int8Model:
    """The integer model of ``model``: calibrated on ``batches``, compiled into the
    package ``path`` and loaded from it."""
    program, example = quantized_program(model, batches)
    return load_int8(compile_program(program, example, path), model)


def load_int8(path: Path, reference: nn.Module) -> Int8Model:
    """The integer model saved in ``path`` by :func:`quantize_int8`; ``reference`` is the
    float model it was made from."""
    check_platform(reference)
    try:
        runner = torch._inductor.aoti_load_package(str(path))
    except Exception as err:
        raise Int8Error(
            f"{path}: cannot load the saved int8 model ({_reason(err)}); delete it to "
            "calibrate a new one"
        ) from err
    return Int8Model(runner, detached_copy(reference), path)
