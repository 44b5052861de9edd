"""trainer.precision=auto: the choice by hardware, bf16-mixed training against fp32, and
evaluation in fp32 whatever the training precision."""

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hydra.utils import instantiate

from stanhop.model import build_model
from stanhop.runtime import precision as P
from stanhop.training.lit import LitForecaster
from stanhop.training.train import train


@pytest.mark.parametrize(
    ("native", "expected", "word"), [(True, "bf16-mixed", "natively"), (False, "32-true", "no")]
)
def test_auto_picks_bf16_only_where_the_hardware_multiplies_it_natively(native, expected, word):
    chosen, reason = P.auto_precision(P.Capability(native_bf16=native, device="test device"))
    assert chosen == expected
    assert reason.startswith(f"precision {expected}: test device") and word in reason
    assert "\n" not in reason


@pytest.mark.parametrize("explicit", ["32-true", "bf16-mixed", "16-mixed", 32])
def test_an_explicit_precision_wins(explicit, monkeypatch) -> None:
    monkeypatch.setattr(P, "cpu_capability", lambda: pytest.fail("auto only looks"))
    assert P.resolve_precision(explicit, "cpu") == (
        explicit,
        f"precision {explicit} (trainer.precision, as set)",
    )


@pytest.mark.parametrize(
    ("avx512_bf16", "amx", "expected"),
    [(True, False, "bf16-mixed"), (False, True, "bf16-mixed"), (False, False, "32-true")],
)
def test_cpu_capability_reads_avx512_bf16_and_amx(monkeypatch, avx512_bf16, amx, expected):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    assert P.resolve_precision("auto", "cpu")[0] == expected


def test_auto_on_a_cpu_accelerator_never_asks_cuda(monkeypatch) -> None:
    monkeypatch.setattr(P, "cuda_capability", lambda: pytest.fail("cuda was asked"))
    assert not P.uses_cuda("cpu")
    P.resolve_precision("auto", "cpu")


def _fit_sine(bf16: bool, steps: int = 150) -> float:
    """Train a tiny STanHop-Net on noisy sines; the mean loss of the last 20 steps."""
    torch.manual_seed(0)
    model = build_model(
        {"name": "stanhop", "n_series": 3, "in_len": 48, "out_len": 12, "seg_len": 6,
         "d_model": 32, "d_ff": 64, "n_heads": 2, "e_layers": 2, "factor": 3, "dropout": 0.0}
    )  # fmt: skip
    t = torch.arange(2000, dtype=torch.float32)
    series = torch.stack([torch.sin(t / p) for p in (5.0, 7.0, 11.0)], dim=-1)
    series += 0.1 * torch.randn_like(series)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(steps):
        start = torch.randint(0, 2000 - 60, (16,))
        windows = torch.stack([series[s : s + 60] for s in start.tolist()])
        x, y = windows[:, :48], windows[:, 48:]
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            pred = model(x)
        loss = F.mse_loss(pred.float(), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return sum(losses[-20:]) / 20


@pytest.mark.slow  # a run or command end to end: seconds each
def test_bf16_mixed_training_reaches_the_fp32_loss() -> None:
    fp32, bf16 = _fit_sine(bf16=False), _fit_sine(bf16=True)
    # From about 0.5 (the sines' variance) to the noise floor (0.01) plus what the small
    # model misses: bf16 must land within 15 % of fp32's loss, not merely decrease.
    assert fp32 < 0.1
    assert bf16 == pytest.approx(fp32, rel=0.15)


@pytest.mark.slow  # a run or command end to end: seconds each
def test_bf16_run_reports_fp32_test_metrics_of_the_fp32_weights(compose_cfg) -> None:
    cfg = compose_cfg(
        "debug=fast", "logger=none", "trainer.precision=bf16-mixed", "callbacks.quantization=null"
    )
    metrics = train(cfg)
    ckpt = Path(cfg.paths.output_dir) / "checkpoints" / "best.ckpt"
    module = LitForecaster.load_from_checkpoint(ckpt, map_location="cpu").eval()
    assert all(p.dtype == torch.float32 for p in module.parameters())
    datamodule = instantiate(cfg.data)
    datamodule.setup()
    batches = list(datamodule.test_dataloader())[: cfg.trainer.limit_test_batches]

    def mse(bf16: bool) -> float:
        squared = count = 0.0
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            for x, y in batches:
                squared += (module(x).float() - y).pow(2).sum().item()
                count += y.numel()
        return squared / count

    assert metrics["test/mse"] == pytest.approx(mse(bf16=False), rel=1e-5)
    assert metrics["test/mse"] != pytest.approx(mse(bf16=True), rel=1e-5)


def test_a_true_precision_evaluates_in_the_weights_own_dtype(compose_cfg) -> None:
    """64-true converts weights and batches to fp64: evaluation must follow, not force fp32."""
    cfg = compose_cfg(
        "debug=fast", "logger=none", "trainer.precision=64-true", "callbacks.quantization=null"
    )
    metrics = train(cfg)
    assert metrics["test/mse"] > 0 and metrics["val/mse"] > 0
