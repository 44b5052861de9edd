"""Outlier metrics against numpy and against a one-shot computation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stanhop.measures import OutlierRecorder, aggregate, find_taps, inf_norm, kurtosis
from stanhop.model import build_model


def numpy_kurtosis(x: np.ndarray) -> float:
    centred = x - x.mean()
    return float((centred**4).mean() / ((centred**2).mean() ** 2 + 1e-6))


def test_kurtosis_and_inf_norm_match_numpy_on_a_known_array():
    rows = np.array([[1.0, 2.0, 3.0, 4.0, 100.0], [-1.0, 1.0, -1.0, 1.0, 0.0]])
    got_k = kurtosis(torch.tensor(rows)).numpy()
    got_n = inf_norm(torch.tensor(rows)).numpy()
    np.testing.assert_allclose(got_k, [numpy_kurtosis(r) for r in rows], rtol=1e-6)
    np.testing.assert_allclose(got_n, [100.0, 1.0])
    # By hand for the second row: mean 0, m2 = 4/5, m4 = 4/5 → 0.8 / 0.64 = 1.25.
    assert got_k[1] == pytest.approx(1.25, rel=1e-5)


def test_kurtosis_of_gaussian_is_three_and_of_an_outlier_is_large():
    gen = torch.Generator().manual_seed(0)
    gaussian = torch.randn(1, 200_000, generator=gen)
    assert kurtosis(gaussian).item() == pytest.approx(3.0, abs=0.05)
    spiky = gaussian.clone()
    spiky[0, 0] = 1000.0
    assert kurtosis(spiky).item() > 1000


def test_every_tap_kind_is_found(tiny_spec):
    model = build_model(tiny_spec)
    kinds = {kind for _, kind in find_taps(model).values()}
    assert kinds == {"hopfield", "mlp", "layernorm", "residual"}


def run_recorder(model, batches):
    with torch.no_grad(), OutlierRecorder(model) as recorder:
        for x in batches:
            model(x)
    return {row["tap"]: row for row in recorder.table()}


def test_streamed_average_equals_one_shot_and_a_naive_per_sample_loop(tiny_spec):
    torch.manual_seed(0)
    model = build_model(tiny_spec).eval()
    x = torch.randn(10, 24, 3)
    streamed = run_recorder(model, x.split([2, 3, 5]))
    one_shot = run_recorder(model, [x])
    assert streamed.keys() == one_shot.keys()
    for tap, row in streamed.items():
        assert row["samples"] == 10
        assert row["kurtosis"] == pytest.approx(one_shot[tap]["kurtosis"], rel=1e-5)
        assert row["inf_norm"] == pytest.approx(one_shot[tap]["inf_norm"], rel=1e-6)

    # Naive reference for one tap: run each sample alone, compute with numpy, average.
    tap = "encoder.0.block.temporal_mlp"
    module = dict(model.named_modules())[tap]
    captured = []
    handle = module.register_forward_hook(lambda m, a, out: captured.append(out.numpy().ravel()))
    with torch.no_grad():
        for sample in x:
            model(sample[None])
    handle.remove()
    expected_k = np.mean([numpy_kurtosis(a) for a in captured])
    expected_n = np.mean([np.abs(a).max() for a in captured])
    assert streamed[tap]["kurtosis"] == pytest.approx(expected_k, rel=1e-4)
    assert streamed[tap]["inf_norm"] == pytest.approx(expected_n, rel=1e-5)


def test_hooks_are_removed_and_outputs_unchanged(tiny_spec):
    model = build_model(tiny_spec).eval()
    x = torch.randn(4, 24, 3)
    before = model(x)
    with OutlierRecorder(model):
        during = model(x)
    assert torch.equal(before, during)
    assert all(not m._forward_hooks for m in model.modules())


def test_aggregates_over_taps():
    rows = [
        {"tap": "a", "kind": "mlp", "kurtosis": 3.0, "inf_norm": 2.0},
        {"tap": "b", "kind": "hopfield", "kurtosis": 9.0, "inf_norm": 7.0},
        {"tap": "c", "kind": "mlp", "kurtosis": 6.0, "inf_norm": 5.0},
    ]
    assert aggregate(rows) == {
        "avg_kurtosis": 6.0,
        "max_kurtosis": 9.0,
        "max_inf_norm": 7.0,
        "max_ffn_inf_norm": 5.0,
    }
    assert aggregate([]) == {}


@pytest.mark.parametrize("size", [4, 8])  # 8 = twice the batch: would reshape silently
def test_a_memory_model_records_the_samples_activations_only(size, tiny_spec):
    """The memory embeds its K windows through the model's own tapped embedding: those
    are not activations of the batch's samples, and a closed gate changes nothing, so the
    statistics equal those of the same model without memory."""
    plain = build_model(tiny_spec).eval()
    with_memory = build_model(
        tiny_spec | {"memory": {"name": "plug_and_play", "size": size}}
    ).eval()
    with_memory.load_state_dict(plain.state_dict(), strict=False)
    with_memory.memory.set_windows(torch.randn(size, tiny_spec["in_len"], tiny_spec["n_series"]))
    x = torch.randn(4, tiny_spec["in_len"], tiny_spec["n_series"])
    tables = []
    for model in (plain, with_memory):
        with OutlierRecorder(model) as recorder, torch.no_grad():
            model(x)
        tables.append(recorder.table())
    assert not any(row["tap"].startswith("memory.") for row in tables[1])
    assert [row["tap"] for row in tables[1]] == [row["tap"] for row in tables[0]]
    for got, expected in zip(tables[1], tables[0], strict=True):
        assert got["samples"] == 4
        assert got["kurtosis"] == pytest.approx(expected["kurtosis"], rel=1e-5)
        assert got["inf_norm"] == pytest.approx(expected["inf_norm"], rel=1e-5)


@pytest.mark.parametrize("gate", ["none", "per_token"])
def test_each_tapped_tensor_counts_once(gate, tiny_spec):
    """No two taps record the same tensor (the pooling returns its Hopfield layer's
    retrieval unchanged), so ``avg_kurtosis`` is the plain mean over distinct tensors."""
    model = build_model(tiny_spec | {"hopfield": {"gate": gate}}).eval()
    seen: dict[tuple[int, int, tuple[int, ...]], str] = {}
    kept = []  # held, so no freed tensor's memory is reused by a later one
    duplicates = []

    def note(name):
        def hook(module, args, output):
            key = (output.data_ptr(), output.storage_offset(), tuple(output.shape))
            if key in seen:
                duplicates.append((seen[key], name))
            seen[key] = name
            kept.append(output)

        return hook

    handles = [m.register_forward_hook(note(n)) for n, (m, _) in find_taps(model).items()]
    x = torch.randn(5, tiny_spec["in_len"], tiny_spec["n_series"])
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    assert duplicates == []
    assert len(seen) == len(find_taps(model))

    # Reference mean over the distinct tensors, each computed with numpy per sample.
    outputs: list[np.ndarray] = []
    handles = [
        m.register_forward_hook(lambda m, a, out: outputs.append(out.numpy().reshape(5, -1)))
        for m, _ in find_taps(model).values()
    ]
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    expected = np.mean([np.mean([numpy_kurtosis(s) for s in out]) for out in outputs])
    table = run_recorder(model, [x])
    assert len(table) == len(outputs)
    assert aggregate(list(table.values()))["avg_kurtosis"] == pytest.approx(expected, rel=1e-4)
