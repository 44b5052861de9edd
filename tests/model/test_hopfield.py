import math

import pytest
import torch
from torch.testing import assert_close

from stanhop.model.gates import GATES
from stanhop.model.hopfield import HopfieldConfig, HopfieldLayer, HopfieldPooling
from stanhop.model.normalizers import NORMALIZERS, softmax1
from stanhop.model.retrieval import retrieve


def naive_hopfield(
    layer: HopfieldLayer, state: torch.Tensor, stored: torch.Tensor, norm
) -> torch.Tensor:
    """Per-sample, per-head loop with explicit matrices: an independent reference. Values
    are the pattern projection of the keys (the Hopfield layer's ``Y W_K W_V``)."""
    h = layer.n_heads
    d = state.shape[-1]
    e = d // h
    out = torch.zeros_like(state)
    for b in range(state.shape[0]):
        q = state[b] @ layer.state_proj.weight.T + layer.state_proj.bias
        k = stored[b] @ layer.stored_proj.weight.T + layer.stored_proj.bias
        v = k @ layer.pattern_proj.weight.T + layer.pattern_proj.bias
        heads = []
        for i in range(h):
            sl = slice(i * e, (i + 1) * e)
            w = norm(q[:, sl] @ k[:, sl].T / math.sqrt(e))
            heads.append(w @ v[:, sl])
        out[b] = torch.cat(heads, dim=-1) @ layer.out_proj.weight.T + layer.out_proj.bias
    return out


@pytest.mark.parametrize(
    ("name", "norm"), [("softmax", lambda s: torch.softmax(s, -1)), ("softmax1", softmax1)]
)
def test_layer_matches_naive_reference(name, norm) -> None:
    torch.manual_seed(0)
    layer = HopfieldLayer(16, 4, HopfieldConfig(normalizer=name)).double()
    state = torch.randn(3, 5, 16, dtype=torch.float64)
    stored = torch.randn(3, 7, 16, dtype=torch.float64)
    assert_close(layer(state, stored), naive_hopfield(layer, state, stored, norm))


@pytest.mark.parametrize("normalizer", sorted(NORMALIZERS))
@pytest.mark.parametrize("gate", sorted(GATES))
def test_every_variant_gives_state_shaped_output(normalizer: str, gate: str) -> None:
    layer = HopfieldLayer(8, 2, HopfieldConfig(normalizer=normalizer, gate=gate))
    out = layer(torch.randn(2, 3, 8), torch.randn(2, 6, 8))
    assert out.shape == (2, 3, 8)
    assert torch.isfinite(out).all()


def test_sharp_retrieval_returns_the_matching_stored_pattern() -> None:
    stored = torch.eye(4).reshape(1, 1, 4, 4)  # four orthonormal stored patterns
    projected = torch.arange(16.0).reshape(1, 1, 4, 4)
    for normalizer in (torch.nn.Softmax(dim=-1), NORMALIZERS["softmax1"]()):
        out = retrieve(stored[:, :, 2:3], stored, projected, normalizer, 50.0, torch.nn.Identity())
        assert_close(out[0, 0, 0], projected[0, 0, 2])


def test_softmax1_retrieves_nothing_for_a_query_far_from_every_memory() -> None:
    stored = torch.eye(4).reshape(1, 1, 4, 4)
    projected = torch.randn(1, 1, 4, 4)
    query = -torch.ones(1, 1, 1, 4)  # negative overlap with every stored pattern
    out = retrieve(query, stored, projected, NORMALIZERS["softmax1"](), 30.0, torch.nn.Identity())
    assert out.abs().max() < 1e-10


def test_pooling_retrieves_from_its_learned_patterns_for_every_input() -> None:
    pool = HopfieldPooling(8, 2, n_patterns=5, cfg=HopfieldConfig(normalizer="softmax")).double()
    assert all(torch.isfinite(p).all() for p in pool.parameters())
    state = torch.randn(3, 11, 8, dtype=torch.float64)
    stored = pool.patterns.expand(3, -1, -1)
    expected = naive_hopfield(pool.hopfield, state, stored, lambda s: torch.softmax(s, -1))
    assert_close(pool(state), expected)


def test_config_rejects_unknown_names_and_bad_values() -> None:
    with pytest.raises(ValueError, match="unknown normaliser"):
        HopfieldConfig(normalizer="nope")
    with pytest.raises(ValueError, match="unknown gate"):
        HopfieldConfig(gate="per_series")
    with pytest.raises(ValueError, match="beta"):
        HopfieldConfig(beta=0.0)
    with pytest.raises(ValueError, match="pi_init"):
        HopfieldLayer(8, 2, HopfieldConfig(gate="per_token", gate_init=1.0))
    with pytest.raises(ValueError, match="divisible"):
        HopfieldLayer(10, 4, HopfieldConfig())
