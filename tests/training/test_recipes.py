"""Training recipes (conf/recipe/): each composes and trains, and the learning rate follows
its schedule's formula epoch by epoch."""

from __future__ import annotations

import json
import math

import pytest
import torch

from stanhop.training.compose import CONF_DIR
from stanhop.training.schedules import warmup_cosine
from stanhop.training.train import train

RECIPES = sorted(p.stem for p in (CONF_DIR / "recipe").glob("*.yaml"))


def test_the_recipes_are_the_three_documented_ones() -> None:
    assert RECIPES == ["cosine", "plateau", "reference"]


@pytest.mark.parametrize("recipe", RECIPES)
def test_each_recipe_trains_two_epochs_under_debug_fast(recipe, compose_cfg, tmp_path) -> None:
    cfg = compose_cfg("debug=fast", "logger=none", f"recipe={recipe}", "trainer.max_epochs=2")
    metrics = train(cfg)
    assert metrics["train/epochs"] == 2
    assert math.isfinite(metrics["test/mse"])
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["test/mse"] == pytest.approx(
        metrics["test/mse"]
    )


def lrs(scheduler: torch.optim.lr_scheduler.LRScheduler, epochs: int) -> list[float]:
    optimizer = scheduler.optimizer
    seen = []
    for _ in range(epochs):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return seen


def test_warmup_cosine_follows_its_formula() -> None:
    lr, warmup, epochs, start, floor = 1e-3, 2, 10, 0.1, 0.01
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    got = lrs(warmup_cosine(optimizer, warmup, epochs, start, floor), epochs)
    expected = [lr * (start + (1 - start) * e / warmup) for e in range(warmup)]
    decay = epochs - warmup
    expected += [
        lr * floor + (lr - lr * floor) * (1 + math.cos(math.pi * e / decay)) / 2
        for e in range(decay)
    ]
    assert got == pytest.approx(expected, rel=1e-9)


def test_a_run_shorter_than_its_warmup_warms_up_for_all_but_its_last_epoch() -> None:
    def first_lrs(max_epochs: int) -> list[float]:
        optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        return lrs(warmup_cosine(optimizer, warmup_epochs=3, max_epochs=max_epochs), max_epochs)

    assert first_lrs(1) == [1.0]
    assert first_lrs(2) == pytest.approx([0.1, 1.0])
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    with pytest.raises(ValueError, match="warmup_epochs"):
        warmup_cosine(optimizer, warmup_epochs=-1, max_epochs=5)
