"""The recipes' fused AdamW against the per-tensor update, and gradient clipping with it."""

import copy

import lightning as L
import pytest
import torch
from hydra.utils import instantiate
from torch.testing import assert_close

from stanhop.model import build_model
from stanhop.training.lit import LitForecaster


def test_every_recipe_fuses_its_optimizer(compose_cfg) -> None:
    for recipe in ("plateau", "cosine", "reference"):
        cfg = compose_cfg(f"recipe={recipe}")
        optimizer = instantiate(cfg.optimizer)([torch.nn.Parameter(torch.zeros(2))])
        assert optimizer.defaults["fused"] is True, recipe


@pytest.mark.parametrize("cls", [torch.optim.AdamW, torch.optim.Adam])
def test_fused_step_matches_the_per_tensor_step(tiny_spec, cls) -> None:
    torch.manual_seed(0)
    fused = build_model(tiny_spec)
    plain = copy.deepcopy(fused)
    optimizers = [
        cls(fused.parameters(), lr=1e-2, weight_decay=1e-2, fused=True),
        cls(plain.parameters(), lr=1e-2, weight_decay=1e-2, foreach=False),
    ]
    x, y = torch.randn(4, 24, 3), torch.randn(4, 12, 3)
    for _ in range(3):
        for model, optimizer in zip((fused, plain), optimizers, strict=True):
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(model.eval()(x), y).backward()
            optimizer.step()
    for p, q in zip(fused.parameters(), plain.parameters(), strict=True):
        assert_close(p, q, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("precision", ["bf16-mixed", "32-true"])
def test_gradients_are_clipped_to_the_norm_with_a_fused_optimizer(tiny_spec, precision) -> None:
    module = LitForecaster(model=tiny_spec, scaler={"mean": [0.0] * 3, "std": [1.0] * 3},
                           series_names=["a", "b", "c"])  # fmt: skip
    module.trainer = L.Trainer(precision=precision, logger=False, accelerator="cpu")
    optimizer = torch.optim.AdamW(module.parameters(), fused=True)
    torch.manual_seed(0)
    for p in module.parameters():
        p.grad = torch.randn_like(p)
    norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in module.parameters()]))
    expected = [p.grad * (0.5 / norm) for p in module.parameters()]
    module.configure_gradient_clipping(optimizer, 0.5, "norm")
    for p, e in zip(module.parameters(), expected, strict=True):
        assert_close(p.grad, e)
