"""The LightningModule: loss, metrics, optimiser and schedule around a plain model."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn

from stanhop.data import Scaler
from stanhop.files.checkpoint import make_plain
from stanhop.model import build_model
from stanhop.training.memory_setup import tune_memory_only

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]
# Where a checkpoint keeps the learning rate of each epoch trained.
LR_KEY = "lr_by_epoch"
SchedulerFactory = Callable[[torch.optim.Optimizer], torch.optim.lr_scheduler.LRScheduler]


def pad_batch(t: torch.Tensor, size: int) -> torch.Tensor:
    """``t`` (b, ...) with its last row repeated to (size, ...)."""
    return torch.cat([t, t[-1:].expand(size - t.shape[0], *t.shape[1:])])


class LitForecaster(L.LightningModule):
    """Trains a forecaster on standardised windows with an MSE loss.

    Everything needed to rebuild the model and undo the standardisation is a plain
    hyperparameter, so ``LitForecaster.load_from_checkpoint(path, map_location="cpu")``
    alone restores model, scaler and series names. The optimiser and schedule are
    factories (Hydra ``_partial_``) that only training needs, so they are not saved.

    ``series_names`` are the model's inputs, in order, and ``scaler`` standardises them;
    ``targets`` are those the model forecasts (None: all) and ``covariates`` the others,
    its past covariates. The loss and every metric cover the targets alone, as the
    batches' ``y`` holds only them. ``calendar`` and ``future`` name the features known
    over the horizon (calendar features, future covariate columns); with them a batch is
    ``(x, y, future)`` and the model takes ``future`` beside ``x``. ``init_from`` records
    the checkpoint a fine-tuning run started from, and ``timezone`` the time zone of the
    training data's timestamps (None: none), in which the calendar features were learnt.

    Metrics are on the standardised scale (the literature's convention); test metrics
    are also given in the data's original units (``test/mse_orig``, ``test/mae_orig``).
    Validation and test run without autocast, in fp32 under any mixed precision.
    """

    def __init__(
        self,
        model: dict[str, Any],
        scaler: dict[str, list[float]],
        series_names: list[str],
        freq: str | None = None,
        last_train_timestamp: str | None = None,
        optimizer: OptimizerFactory | None = None,
        scheduler: SchedulerFactory | None = None,
        freeze_backbone: bool = False,
        targets: list[str] | None = None,
        covariates: list[str] | None = None,
        calendar: list[str] | None = None,
        future: list[str] | None = None,
        init_from: str | None = None,
        timezone: str | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["optimizer", "scheduler"])
        if len(scaler["mean"]) != len(series_names) or len(scaler["std"]) != len(series_names):
            raise ValueError("scaler mean/std must have one entry per series name")
        self.model = build_model(model)
        if freeze_backbone:
            tune_memory_only(self.model)  # only the memory trains (memory.freeze_backbone)
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        # Rebuilt from the hyperparameters on every load, so it is not saved twice.
        self.scaler = Scaler.from_dict(scaler)
        # The scaler of the forecast series, for the test metrics in original units.
        self.target_scaler = self.scaler.select(self.model.cfg.targets)
        # A compiled run pads shorter evaluation batches to this many windows, so the
        # compiled graph sees one batch size (None: never pad).
        self.eval_pad_to: int | None = None
        # The learning rate each epoch trained with, kept in every checkpoint: a refit on
        # every row replays the schedule of the run it takes its epoch count from.
        self.lr_by_epoch: list[float] = []

    def forward(self, x: torch.Tensor, *future: torch.Tensor) -> torch.Tensor:
        """``x``: (b, in_len, c) standardised [, ``future`` (b, out_len, f)] → forecast
        (b, out_len, k) of the targets, standardised."""
        return self.model(x, *future)

    def _errors(self, batch: tuple[torch.Tensor, ...], stage: str) -> dict[str, torch.Tensor]:
        x, y, *future = batch
        # Without autocast, on the master weights (fp32 under every mixed precision), so
        # validation and test figures (and the early stopping and checkpoints they steer)
        # compare across runs whatever the training precision.
        with torch.autocast(x.device.type, enabled=False):
            dtype = next(self.parameters()).dtype
            inputs = [t.to(dtype) for t in (x, *future)]
            n = x.shape[0]
            if self.eval_pad_to is not None and n < self.eval_pad_to:
                # copies of the last window; their forecasts are dropped below
                inputs = [pad_batch(t, self.eval_pad_to) for t in inputs]
            pred = self(*inputs)[:n]
        errors = {f"{stage}/mse": F.mse_loss(pred, y), f"{stage}/mae": F.l1_loss(pred, y)}
        # Every window has the same number of values, so Lightning's batch-size-weighted
        # epoch mean of these batch means is the exact mean over the split. Under DDP every
        # process evaluates every window, so syncing averages equal values: it only keeps
        # the processes' copies (which checkpointing and early stopping read) identical.
        self.log_dict(
            errors,
            batch_size=x.shape[0],
            on_step=False,
            on_epoch=True,
            prog_bar=True,
            sync_dist=True,
        )
        return {"pred": pred, **errors}

    def training_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> torch.Tensor:
        x, y, *future = batch
        loss = F.mse_loss(self(x, *future), y)
        # Under DDP each process trains on its own share of the batch: synced, the logged
        # loss is that of the whole batch, as a single process would log it.
        self.log(
            "train/loss",
            loss,
            batch_size=x.shape[0],
            on_step=True,
            on_epoch=True,
            prog_bar=True,
            sync_dist=True,
        )
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> None:
        self._errors(batch, "val")

    def test_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> dict[str, torch.Tensor]:
        pred = self._errors(batch, "test")["pred"]
        y_orig = self.target_scaler.inverse_transform(batch[1])
        pred_orig = self.target_scaler.inverse_transform(pred)
        orig = {
            "test/mse_orig": F.mse_loss(pred_orig, y_orig),
            "test/mae_orig": F.l1_loss(pred_orig, y_orig),
        }
        self.log_dict(orig, batch_size=pred.shape[0], on_step=False, on_epoch=True, sync_dist=True)
        # For the callbacks that score the same forecasts (e.g. interval coverage).
        return {"pred": pred}

    def on_train_epoch_start(self) -> None:
        del self.lr_by_epoch[self.current_epoch :]
        self.lr_by_epoch.append(float(self.trainer.optimizers[0].param_groups[0]["lr"]))

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[LR_KEY] = list(self.lr_by_epoch)
        # Tensors and plain values only, so forecasts load it with weights_only=True.
        make_plain(checkpoint)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.lr_by_epoch = [float(lr) for lr in checkpoint.get(LR_KEY, [])]

    def configure_gradient_clipping(
        self,
        optimizer: torch.optim.Optimizer,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str | None = None,
    ) -> None:
        """Clip by norm here where no gradient scaler runs (fp32, bf16-mixed).

        Lightning refuses to clip for an optimizer that unscales gradients in its own step
        (a fused one: ``optimizer.fused``), lest it clip scaled fp16 gradients; without a
        scaler the gradients are the true ones, so they are clipped as Lightning would.
        """
        scaler = getattr(self.trainer.precision_plugin, "scaler", None)
        if gradient_clip_val and scaler is None and gradient_clip_algorithm in (None, "norm"):
            torch.nn.utils.clip_grad_norm_(self.parameters(), gradient_clip_val)
            return
        self.clip_gradients(optimizer, gradient_clip_val, gradient_clip_algorithm)

    def configure_optimizers(self) -> Any:
        if self.optimizer_factory is None:
            raise RuntimeError(
                "this LitForecaster was built without an optimizer; pass optimizer=..."
            )
        optimizer = self.optimizer_factory(p for p in self.parameters() if p.requires_grad)
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer)
        # Stepped after every epoch; a plateau schedule reads the validation MSE (the
        # others ignore "monitor").
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "epoch", "monitor": "val/mse"},
        }
