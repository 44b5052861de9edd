"""The moving average of the weights against one computed by hand from the weights after
every optimiser step: what fitting validates, what the checkpoints hold, what testing
after fitting scores, and a resumed fit continuing both weights and average."""

from __future__ import annotations

import math
from pathlib import Path

import lightning as L
import pandas as pd
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch import nn

from stanhop.forecast import Forecaster
from stanhop.training.callbacks.weight_average import (
    RAW_WEIGHTS_KEY,
    ExponentialWeightAverage,
    ema_decay,
)
from stanhop.training.train import train

BATCHES = 5  # optimiser steps an epoch
X = torch.randn(BATCHES * 4, 3, generator=torch.Generator().manual_seed(0))
Y = X @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3
VAL_X = torch.randn(16, 3, generator=torch.Generator().manual_seed(1))
VAL_Y = VAL_X @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3


class Regression(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.layer = nn.Linear(3, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return nn.functional.mse_loss(self.layer(x), y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val/mse", nn.functional.mse_loss(self.layer(x), y))

    def test_step(self, batch, batch_idx):
        x, y = batch
        self.log("test/mse", nn.functional.mse_loss(self.layer(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05)


class Snapshots(L.Callback):
    """The raw weights after every optimiser step, and each validation's MSE."""

    def __init__(self) -> None:
        self.weights: list[list[torch.Tensor]] = []
        self.val: list[float] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.weights.append([p.detach().clone() for p in pl_module.parameters()])

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self.val.append(float(trainer.callback_metrics["val/mse"]))


def loader(x, y, batch_size=4):
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=batch_size)


def make_trainer(epochs: int, callbacks: list, **kwargs) -> L.Trainer:
    return L.Trainer(
        max_epochs=epochs,
        callbacks=callbacks,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        accelerator="cpu",
        **kwargs,
    )


def naive_average(start: list[torch.Tensor], steps: list[list[torch.Tensor]], decay: float):
    """The textbook recursion, one step at a time, starting from the initial weights."""
    average = [w.clone() for w in start]
    for weights in steps:
        average = [decay * a + (1 - decay) * w for a, w in zip(average, weights, strict=True)]
    return average


def mse_with(weights: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> float:
    weight, bias = weights
    return float(nn.functional.mse_loss(x @ weight.T + bias, y))


def test_the_decay_halves_a_steps_share_after_half_life_epochs() -> None:
    decay = ema_decay(half_life=2.0, steps_per_epoch=18)
    assert decay ** (2 * 18) == pytest.approx(0.5)
    assert ema_decay(1.0, 1) == 0.5


@pytest.mark.parametrize("half_life", [0, -1.0, float("nan"), float("inf"), "1"])
def test_a_half_life_that_is_not_a_positive_number_is_refused_in_one_line(half_life) -> None:
    with pytest.raises(ValueError, match="half_life"):
        ExponentialWeightAverage(half_life=half_life)


def test_fitting_validates_checkpoints_and_tests_the_hand_computed_average(tmp_path) -> None:
    module = Regression()
    start = [p.detach().clone() for p in module.parameters()]
    average_cb, seen = ExponentialWeightAverage(half_life=0.5), Snapshots()
    best = ModelCheckpoint(dirpath=tmp_path, filename="best", monitor="val/mse", save_last=True)
    trainer = make_trainer(4, [average_cb, seen, best])
    trainer.fit(module, loader(X, Y), loader(VAL_X, VAL_Y))

    decay = ema_decay(0.5, BATCHES)
    assert average_cb.decay == pytest.approx(decay)
    assert len(seen.weights) == 4 * BATCHES
    # every epoch's validation scored the average of the steps so far
    for epoch, val in enumerate(seen.val):
        expected = naive_average(start, seen.weights[: (epoch + 1) * BATCHES], decay)
        assert val == pytest.approx(mse_with(expected, VAL_X, VAL_Y), rel=1e-5)
    # and fitting leaves the module on the final average, unlike its raw weights
    final = naive_average(start, seen.weights, decay)
    for param, expected, raw in zip(module.parameters(), final, seen.weights[-1], strict=True):
        torch.testing.assert_close(param.detach(), expected)
        assert not torch.allclose(param.detach(), raw)

    # the best checkpoint: the average in state_dict, the raw weights beside it
    best_epoch = min(range(4), key=seen.val.__getitem__)
    checkpoint = torch.load(best.best_model_path, weights_only=True)
    at_best = naive_average(start, seen.weights[: (best_epoch + 1) * BATCHES], decay)
    torch.testing.assert_close(checkpoint["state_dict"]["layer.weight"], at_best[0])
    torch.testing.assert_close(checkpoint["state_dict"]["layer.bias"], at_best[1])
    raw = seen.weights[(best_epoch + 1) * BATCHES - 1]
    torch.testing.assert_close(checkpoint[RAW_WEIGHTS_KEY]["layer.weight"], raw[0])

    # testing after fitting scores the best checkpoint's average, as validation did
    (validated,) = trainer.validate(module, loader(VAL_X, VAL_Y), ckpt_path="best", verbose=False)
    assert validated["val/mse"] == pytest.approx(seen.val[best_epoch], rel=1e-5)
    (tested,) = trainer.test(module, loader(X, Y), ckpt_path="best", verbose=False)
    assert tested["test/mse"] == pytest.approx(mse_with(at_best, X, Y), rel=1e-5)


def test_a_resumed_fit_ends_with_the_weights_and_average_of_the_uninterrupted_one(
    tmp_path: Path,
) -> None:
    whole = Regression()
    make_trainer(4, [ExponentialWeightAverage(half_life=1.0)], enable_checkpointing=False).fit(
        whole, loader(X, Y), loader(VAL_X, VAL_Y)
    )

    last = ModelCheckpoint(dirpath=tmp_path, save_last=True, save_top_k=0)
    first = Regression()
    make_trainer(2, [ExponentialWeightAverage(half_life=1.0), last]).fit(
        first, loader(X, Y), loader(VAL_X, VAL_Y)
    )
    resumed = Regression()
    make_trainer(4, [ExponentialWeightAverage(half_life=1.0)], enable_checkpointing=False).fit(
        resumed, loader(X, Y), loader(VAL_X, VAL_Y), ckpt_path=str(tmp_path / "last.ckpt")
    )
    for a, b in zip(whole.parameters(), resumed.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_batches_that_only_accumulate_gradients_leave_the_average_alone() -> None:
    module = Regression()
    start = [p.detach().clone() for p in module.parameters()]
    seen = Snapshots()
    average_cb = ExponentialWeightAverage(half_life=1.0)
    make_trainer(1, [average_cb, seen], accumulate_grad_batches=2, enable_checkpointing=False).fit(
        module, loader(X, Y)
    )
    steps = math.ceil(BATCHES / 2)
    assert average_cb.decay == pytest.approx(ema_decay(1.0, steps))
    # the weights after each optimiser step: batches 2, 4 and the epoch's last (5)
    stepped = [seen.weights[i] for i in (1, 3, 4)]
    for param, expected in zip(
        module.parameters(), naive_average(start, stepped, average_cb.decay), strict=True
    ):
        torch.testing.assert_close(param.detach(), expected)


def test_averaging_ema_trains_tests_and_forecasts_with_the_average(compose_cfg, tmp_path) -> None:
    cfg = compose_cfg(
        "debug=fast",
        "averaging=ema",
        "callbacks.weight_average.half_life=0.5",
        "trainer.max_epochs=3",
        "callbacks.early_stopping=null",
    )
    assert cfg.callbacks.weight_average.half_life == 0.5
    metrics = train(cfg)
    logged = pd.read_csv(next(Path(cfg.paths.output_dir).rglob("metrics.csv")))
    # the best checkpoint re-validated gives the best epoch's averaged validation MSE
    assert metrics["val/mse"] == pytest.approx(logged["val/mse"].dropna().min(), rel=1e-5)
    best = Path(cfg.paths.output_dir) / "checkpoints" / "best.ckpt"
    checkpoint = torch.load(best, weights_only=True)
    assert RAW_WEIGHTS_KEY in checkpoint
    forecaster = Forecaster.load(best)
    for name, value in forecaster.model.state_dict().items():
        torch.testing.assert_close(value, checkpoint["state_dict"][f"model.{name}"])
