"""External memory: the closed gate, retrieval against closed forms, errors, tuning."""

from __future__ import annotations

import math

import pytest
import torch
from torch.testing import assert_close

from stanhop.model import HopfieldConfig, STanHopConfig, STanHopNet
from stanhop.model.config import MemoryConfig
from stanhop.model.memory import MEMORIES, WindowMemory

IN_LEN, N_SERIES = 24, 3


def with_memory(
    cfg: STanHopConfig, name: str, backbone: STanHopNet, windows: torch.Tensor
) -> STanHopNet:
    """A model of ``cfg`` with memory ``name`` whose backbone weights are ``backbone``'s."""
    cfg.memory = MemoryConfig(name, size=len(windows))
    model = STanHopNet(cfg)
    missing, unexpected = model.load_state_dict(backbone.state_dict(), strict=False)
    assert all(key.startswith("memory.") for key in missing) and not unexpected
    model.memory.set_windows(windows)
    return model.eval()


def identity_retrieval(memory: WindowMemory) -> None:
    """Projections of the memory's Hopfield layer set to the identity, no biases."""
    with torch.no_grad():
        for proj in ("state_proj", "stored_proj", "pattern_proj", "out_proj"):
            layer = getattr(memory.retrieval, proj)
            layer.weight.copy_(torch.eye(layer.in_features))
            layer.bias.zero_()


@pytest.mark.parametrize("name", sorted(MEMORIES))
def test_every_memory_keeps_the_output_shape(name: str, tiny_config) -> None:
    torch.manual_seed(0)
    model = STanHopNet(tiny_config(memory=MemoryConfig(name, 5)))
    if isinstance(model.memory, WindowMemory):
        model.memory.set_windows(torch.randn(5, IN_LEN, N_SERIES))
    out = model(torch.randn(2, IN_LEN, N_SERIES))
    assert out.shape == (2, 12, N_SERIES) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", ["plug_and_play", "tune_and_play"])
def test_closed_gate_gives_exactly_the_output_without_memory(name: str, tiny_config) -> None:
    torch.manual_seed(0)
    backbone = STanHopNet(tiny_config()).eval()
    model = with_memory(tiny_config(), name, backbone, torch.randn(5, IN_LEN, N_SERIES))
    x = torch.randn(4, IN_LEN, N_SERIES)
    with torch.no_grad():
        assert not torch.equal(
            model.memory.retrieve(backbone.embed_windows(x), model.embed_windows),
            torch.zeros(4, N_SERIES, 4, 16),
        )  # there is something to add
        assert torch.equal(model(x), backbone(x))


def test_the_closed_gate_still_gets_a_gradient(tiny_config) -> None:
    torch.manual_seed(0)
    model = STanHopNet(tiny_config(memory=MemoryConfig("plug_and_play", 5)))
    model.memory.set_windows(torch.randn(5, IN_LEN, N_SERIES))
    model(torch.randn(2, IN_LEN, N_SERIES)).square().mean().backward()
    assert model.memory.gate.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("normalizer", ["softmax1", "softmax"])
def test_a_query_equal_to_a_stored_window_retrieves_that_window(
    normalizer: str, tiny_config
) -> None:
    # One head: the LayerNorm-ed embeddings all have norm √d, so by Cauchy–Schwarz a
    # segment scores highest against itself, and a sharp β puts all weight there.
    torch.manual_seed(0)
    model = STanHopNet(
        tiny_config(
            memory=MemoryConfig("plug_and_play", 5),
            n_heads=1,
            hopfield=HopfieldConfig(normalizer=normalizer, beta=50.0),
        )
    ).eval()
    identity_retrieval(model.memory)
    windows = torch.randn(5, IN_LEN, N_SERIES)
    model.memory.set_windows(windows)
    with torch.no_grad():
        expected = model.embed_windows(windows[2:3])  # (1, c, s, d)
        retrieved = model.memory.retrieve(expected, model.embed_windows)
    assert_close(retrieved, expected, atol=1e-4, rtol=0)


def test_softmax1_retrieves_nothing_for_a_query_far_from_every_memory(tiny_config) -> None:
    """Every stored pattern is one vector u (a constant embedding); with the pattern
    projection set to all ones, the retrieval per head is the total retrieval weight,
    which softmax₁ makes n·e^x / (1 + n·e^x) for n stored patterns scoring x each."""
    torch.manual_seed(0)
    beta, n_heads, d = 0.5, 2, 16
    model = STanHopNet(
        tiny_config(
            memory=MemoryConfig("plug_and_play", 5),
            hopfield=HopfieldConfig(normalizer="softmax1", beta=beta),
        )
    ).eval()
    identity_retrieval(model.memory)
    with torch.no_grad():
        model.embed.weight.zero_()
        model.enc_pos.zero_()
        model.memory.retrieval.pattern_proj.bias.fill_(1.0)
        model.memory.retrieval.pattern_proj.weight.zero_()
    model.memory.set_windows(torch.randn(5, IN_LEN, N_SERIES))
    u = model.embed_norm(model.embed.bias)  # (d,), every stored pattern
    n_stored = 5 * 4  # windows × segments of one series
    totals = []
    for scale in [2.0, 0.0, -2.0, -8.0]:
        query = (scale * u).expand(1, N_SERIES, 4, d)
        with torch.no_grad():
            total = model.memory.retrieve(query, model.embed_windows)[0, 0, 0]  # (d,)
        x = beta * scale * u.detach().view(n_heads, -1).square().sum(-1)  # score per head
        formula = n_stored * torch.exp(x) / (1 + n_stored * torch.exp(x))
        assert_close(total.view(n_heads, -1), formula[:, None].expand(-1, d // n_heads))
        totals.append(total.max().item())
    assert totals == sorted(totals, reverse=True)
    assert totals[-1] < 1e-6


@pytest.mark.parametrize(
    "shape",
    [
        (5, IN_LEN + 1, N_SERIES),
        (5, IN_LEN, N_SERIES + 1),
        (IN_LEN, N_SERIES),
        (0, IN_LEN, N_SERIES),
    ],
)
@pytest.mark.parametrize("name", ["plug_and_play", "tune_and_play"])
def test_memory_of_the_wrong_shape_is_a_one_line_error(
    name: str, shape: tuple[int, ...], tiny_config
) -> None:
    model = STanHopNet(tiny_config(memory=MemoryConfig(name, 5)))
    with pytest.raises(
        ValueError, match=r"memory windows must have shape \(K, in_len=24, series=3\)"
    ) as err:
        model.memory.set_windows(torch.randn(shape))
    assert "\n" not in str(err.value)


def test_non_finite_memory_and_a_bank_of_the_wrong_size_are_errors(tiny_config) -> None:
    windows = torch.randn(5, IN_LEN, N_SERIES)
    windows[1, 2, 0] = math.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        STanHopNet(tiny_config(memory=MemoryConfig("plug_and_play", 5))).memory.set_windows(windows)
    with pytest.raises(ValueError, match=r"holds memory.size=5 windows, got 4"):
        STanHopNet(tiny_config(memory=MemoryConfig("tune_and_play", 5))).memory.set_windows(
            torch.randn(4, IN_LEN, N_SERIES)
        )
    with pytest.raises(ValueError, match="unknown memory 'episodic'"):
        MemoryConfig("episodic")


def test_plug_and_play_windows_round_trip_through_a_weights_only_load(
    tmp_path, tiny_config
) -> None:
    torch.manual_seed(0)
    model = STanHopNet(tiny_config(memory=MemoryConfig("plug_and_play", 5))).eval()
    model.memory.set_windows(torch.randn(9, IN_LEN, N_SERIES))  # any K, not just size
    torch.save(model.state_dict(), tmp_path / "model.pt")
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    again = STanHopNet(tiny_config(memory=MemoryConfig("plug_and_play", 5))).eval()
    again.load_state_dict(state)
    x = torch.randn(2, IN_LEN, N_SERIES)
    assert torch.equal(again.memory.windows, model.memory.windows)
    assert torch.equal(again(x), model(x))


@pytest.mark.parametrize("name", ["plug_and_play", "tune_and_play"])
def test_a_seed_gives_the_backbone_the_same_initial_weights_with_or_without_memory(
    name, tiny_config
) -> None:
    torch.manual_seed(3)
    plain = STanHopNet(tiny_config()).state_dict()
    torch.manual_seed(3)
    with_mem = STanHopNet(tiny_config(memory=MemoryConfig(name, 5))).state_dict()
    assert set(with_mem) - set(plain) == {k for k in with_mem if k.startswith("memory.")}
    assert all(torch.equal(plain[k], with_mem[k]) for k in plain)
