"""The real integer model: int8 weights in the converted program, oneDNN's integer linear
kernel in the compiled package, and a one-line error for a model export cannot take."""

from __future__ import annotations

import zipfile

import pytest
import torch
from torch import nn

from stanhop.measures.int8 import QLINEAR, Int8Error, compile_program, quantized_program
from stanhop.model import build_model

aten, qd = torch.ops.aten, torch.ops.quantized_decomposed


@pytest.mark.slow  # compiles the package (about a minute)
def test_every_linear_reads_int8_weights_and_the_package_runs_integer_kernels(
    tiny_spec, tmp_path
) -> None:
    model = build_model(tiny_spec).eval()
    batches = [torch.randn(8, 24, 3) for _ in range(2)]
    program, example = quantized_program(model, batches)
    linears = [n for n in program.graph.nodes if n.target == aten.linear.default]
    assert len(linears) == sum(isinstance(m, nn.Linear) for m in model.modules())
    for node in linears:
        weight = node.args[1]  # dequantize_per_channel(int8 weight, scales, zero points)
        assert weight.target == qd.dequantize_per_channel.default
        stored = getattr(program, weight.args[0].target)
        assert stored.dtype == torch.int8, node.name
        activation = node.args[0]  # the input comes off the uint8 grid
        assert activation.target == qd.dequantize_per_tensor.default
        assert activation.args[-1] == torch.uint8

    path = compile_program(program, example, tmp_path / "tiny.int8.pt2")
    with zipfile.ZipFile(path) as package:
        wrapper = next(n for n in package.namelist() if n.endswith("wrapper.cpp"))
        assert QLINEAR in package.read(wrapper).decode()
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.int8.pt2"]  # no partial file left


class _Branching(nn.Module):
    """A layer whose control flow depends on its input's values, which export cannot trace."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if x.sum() > 0 else -x


class _Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(3, 3)
        self.branch = _Branching()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.branch(self.proj(x))


def test_a_model_export_cannot_take_is_one_line_naming_the_layer() -> None:
    with pytest.raises(Int8Error) as err:
        quantized_program(_Model(), [torch.randn(4, 5, 3)])
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(
        "the int8 path cannot take _Model: torch.export fails in its layer 'branch' ("
    )
    assert message.endswith("); use the simulated w8a8 instead")
