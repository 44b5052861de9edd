"""The fused retrieval path against the reference path, and choosing between them."""

import copy

import pytest
import torch
from torch.testing import assert_close

from stanhop.model import (
    NORMALIZERS,
    RETRIEVALS,
    HopfieldConfig,
    HopfieldLayer,
    HopfieldPooling,
    build_model,
    use_reference_path,
    use_reference_retrieval,
)
from stanhop.model.dropout import Dropout
from stanhop.model.retrieval import (
    CPU_FUSED_MIN_SCORES,
    retrieve,
    retrieve_batched,
    retrieve_sdpa,
)

FUSABLE = sorted(n for n, cls in NORMALIZERS.items() if cls.fused_null_patterns is not None)
TOL = {"atol": 1e-5, "rtol": 1e-5}

# Published ETTh1 settings (conf/experiment/etth1_{24,48}.yaml) with a small batch, and
# smaller shapes that reach the edge cases: one segment, no merging, uneven lengths.
MODEL_SHAPES = [
    dict(in_len=168, out_len=24, seg_len=6, win_size=2, factor=10, d_model=256, d_ff=512,
         n_heads=4, e_layers=3),
    dict(in_len=168, out_len=48, seg_len=6, win_size=2, factor=10, d_model=256, d_ff=512,
         n_heads=4, e_layers=3),
    dict(in_len=25, out_len=7, seg_len=6, win_size=2, factor=3, d_model=16, d_ff=32,
         n_heads=2, e_layers=3),
    dict(in_len=13, out_len=5, seg_len=13, win_size=1, factor=1, d_model=8, d_ff=16,
         n_heads=1, e_layers=1),
]  # fmt: skip


def assert_same_outputs_and_gradients(a: torch.nn.Module, b: torch.nn.Module, shape) -> None:
    """Models ``a`` and ``b`` (7 series, ``shape``'s lengths) give the same forecast and
    the same gradient of every parameter for one random batch."""
    x = torch.randn(2, shape["in_len"], 7)
    y = torch.randn(2, shape["out_len"], 7)
    outs = []
    for model in (a, b):
        out = model(x)
        torch.nn.functional.mse_loss(out, y).backward()
        outs.append(out)
    assert_close(outs[0], outs[1], **TOL)
    for (name, p), q in zip(a.named_parameters(), b.parameters(), strict=True):
        assert_close(p.grad, q.grad, **TOL, msg=lambda m, name=name: f"{name}: {m}")


@pytest.mark.parametrize("normalizer", sorted(NORMALIZERS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_batched_retrieval_matches_reference_with_dropout_for_every_normaliser(
    normalizer, dtype
) -> None:
    """Head-split views, as the layer passes them; the same dropout mask (drawn from the
    same generator state over weights of the same size and order)."""
    torch.manual_seed(0)
    norm = NORMALIZERS[normalizer]()
    dropout = Dropout(0.3).train()
    heads = [torch.randn(3, k, 4 * 8).view(3, k, 4, 8).transpose(1, 2) for k in (6, 9, 9)]
    heads = [t.to(dtype).requires_grad_(True) for t in heads]
    outs, grads = [], []
    for fn in (retrieve, retrieve_batched):
        torch.manual_seed(1)
        out = fn(*heads, norm, 0.25, dropout)
        out.float().square().sum().backward()
        outs.append(out)
        grads.append([t.grad.clone() for t in heads])
        for t in heads:
            t.grad = None
    tol = TOL if dtype == torch.float32 else {"atol": 2e-2, "rtol": 2e-2}
    assert outs[1].shape == (3, 4, 6, 8)
    assert_close(outs[1], outs[0], **tol)
    for fast, ref in zip(grads[1], grads[0], strict=True):
        assert_close(fast, ref, **tol)


def test_fused_support_is_declared_by_the_normaliser() -> None:
    assert FUSABLE == ["softmax", "softmax1"]
    for name, cls in NORMALIZERS.items():
        layer = HopfieldLayer(8, 2, HopfieldConfig(normalizer=name))
        assert layer.retrieval == ("fused" if name in FUSABLE else "reference")
        assert layer.retrieval in RETRIEVALS
        off = HopfieldLayer(8, 2, HopfieldConfig(normalizer=name, fused=False))
        assert off.retrieval == "reference"
        assert cls.fused_null_patterns in (None, 0, 1)


@pytest.mark.parametrize("path", [retrieve_sdpa, retrieve_batched], ids=lambda f: f.__name__)
@pytest.mark.parametrize("normalizer", FUSABLE)
@pytest.mark.parametrize(
    ("n", "m"), [(28, 28), (10, 7), (7, 10), (4, 28), (1, 1), (1, 9), (120, 120)]
)
def test_fast_retrievals_match_reference_in_value_and_gradient(path, normalizer, n, m) -> None:
    torch.manual_seed(0)
    norm = NORMALIZERS[normalizer]()
    dropout = Dropout(0.0)
    inputs = [torch.randn(3, 4, k, 16, requires_grad=True) for k in (n, m, m)]
    # Scores of a few units, as the layers produce, and a large one for the softmax₁ shift.
    with torch.no_grad():
        inputs[0][0, 0, 0] *= 20
    weights = torch.randn(3, 4, n, 16)
    outs, grads = [], []
    for fn in (retrieve, path):
        out = fn(*inputs, norm, 0.25, dropout)
        (out * weights).sum().backward()
        outs.append(out)
        grads.append([t.grad.clone() for t in inputs])
        for t in inputs:
            t.grad = None
    assert_close(outs[1], outs[0], **TOL)
    for fused, ref in zip(grads[1], grads[0], strict=True):
        assert_close(fused, ref, **TOL)


@pytest.mark.parametrize("normalizer", FUSABLE)
@pytest.mark.parametrize("shape", MODEL_SHAPES, ids=lambda s: f"in{s['in_len']}-out{s['out_len']}")
def test_fused_model_matches_reference_model_for_every_shape_it_uses(normalizer, shape) -> None:
    """Every Hopfield layer of the model (temporal, pooling, cross-series, decoder cross,
    at every scale) runs on both paths; outputs and every parameter's gradient agree."""
    torch.manual_seed(0)
    spec = {"name": "stanhop", "n_series": 7, "dropout": 0.0, "revin": False, **shape}
    fused = build_model({**spec, "hopfield": {"normalizer": normalizer}})
    reference = copy.deepcopy(fused)
    use_reference_retrieval(reference)
    layers = [m for m in fused.modules() if isinstance(m, HopfieldLayer)]
    assert layers and all(m.retrieval == "fused" for m in layers)
    assert all(
        m.retrieval == "reference" for m in reference.modules() if isinstance(m, HopfieldLayer)
    )

    assert_same_outputs_and_gradients(fused, reference, shape)


def test_reference_path_calls_the_normaliser_module_of_every_layer() -> None:
    model = build_model(
        {"name": "stanhop", "n_series": 3, "in_len": 24, "out_len": 12, "seg_len": 6,
         "d_model": 16, "d_ff": 32, "n_heads": 2, "factor": 3, "e_layers": 2, "revin": False}
    )  # fmt: skip
    seen: list[torch.Tensor] = []
    layer_calls: list[HopfieldLayer] = []
    for layer in model.modules():
        if isinstance(layer, HopfieldLayer):
            layer.normalizer.register_forward_hook(lambda mod, args, out: seen.append(out))
            layer.register_forward_hook(lambda mod, args, out: layer_calls.append(mod))
    x = torch.randn(2, 24, 3)
    use_reference_retrieval(model)
    model(x)
    # Every layer, the pooling ones included, runs through its forward (hooks see it).
    n_layers = sum(isinstance(m, HopfieldLayer) for m in model.modules())
    assert len(layer_calls) == len(set(map(id, layer_calls))) == n_layers
    assert len(seen) == n_layers
    for weights in seen:  # softmax₁ retrieval weights: rows sum to less than one
        assert (weights >= 0).all() and (weights.sum(-1) < 1).all()


@pytest.mark.parametrize(("n", "m", "train", "kernel"), [
    (64, 64, False, True),  # large, no dropout: the fused kernel
    (28, 28, False, False),  # small: the reference path is faster on a CPU
    (64, 64, True, False),  # dropout: the reference path with the cheaper mask
])  # fmt: skip
def test_fused_path_on_a_cpu_takes_the_kernel_only_where_it_pays(n, m, train, kernel) -> None:
    assert (n * m >= CPU_FUSED_MIN_SCORES) == (n == 64)
    layer = HopfieldLayer(16, 2, HopfieldConfig(normalizer="softmax1"), dropout=0.1)
    layer.train(train)
    seen: list[torch.Tensor] = []
    layer.normalizer.register_forward_hook(lambda mod, args, out: seen.append(out))
    layer(torch.randn(2, n, 16), torch.randn(2, m, 16))
    assert (seen == []) == kernel


def test_fused_path_applies_dropout_in_training_only() -> None:
    torch.manual_seed(0)
    layer = HopfieldLayer(16, 2, HopfieldConfig(normalizer="softmax1"), dropout=0.5)
    assert layer.retrieval == "fused"
    state, stored = torch.randn(4, 6, 16), torch.randn(4, 9, 16)
    layer.eval()
    assert torch.equal(layer(state, stored), layer(state, stored))
    reference = copy.deepcopy(layer)
    use_reference_retrieval(reference)
    assert_close(layer(state, stored), reference(state, stored), **TOL)
    layer.train()
    assert not torch.allclose(layer(state, stored), layer(state, stored))


@pytest.mark.parametrize("normalizer", ["softmax1", "entmax15"])
def test_pooling_projects_its_patterns_once_with_the_same_result(normalizer) -> None:
    torch.manual_seed(0)
    pool = HopfieldPooling(8, 2, n_patterns=5, cfg=HopfieldConfig(normalizer=normalizer))
    state = torch.randn(3, 11, 8)
    stored = pool.patterns.expand(3, -1, -1)
    assert_close(pool(state), pool.hopfield(state, stored))


@pytest.mark.parametrize("hopfield", ["softmax1", "entmax15"])
@pytest.mark.parametrize("shape", MODEL_SHAPES, ids=lambda s: f"in{s['in_len']}-out{s['out_len']}")
def test_fast_path_matches_the_plain_path_in_value_and_gradient(hopfield, shape) -> None:
    """Stacked projections, the fused kernel where it pays and the cheaper dropout mask
    against one product per projection, the reference retrieval and bernoulli_ masks:
    the same outputs and gradients with dropout off (the masks are compared apart)."""
    torch.manual_seed(0)
    spec = {"name": "stanhop", "n_series": 7, "dropout": 0.2, "revin": False, **shape}
    fast = build_model({**spec, "hopfield": {"normalizer": hopfield}}).eval()
    plain = copy.deepcopy(fast)
    use_reference_path(plain)
    layers = [m for m in plain.modules() if isinstance(m, HopfieldLayer)]
    assert layers and not any(m.stack_projections for m in layers)
    assert all(m.bernoulli for m in plain.modules() if isinstance(m, Dropout))
    assert_same_outputs_and_gradients(fast, plain, shape)
