"""A refit on every row (``refit_from=RUN``): a model for production, trained on the newest
data too, after a validated run chose how long to train.

The validated run held back a validation split and stopped at its best epoch; the refit
trains the same model on every row for that many epochs, replaying the learning rate each
of those epochs had (a plateau schedule reads a validation MSE the refit does not have),
and takes the validated run's interval calibration, as nothing is left to calibrate on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf, open_dict

from stanhop.files.checkpoint import INTERVALS_KEY, load_checkpoint
from stanhop.files.run_dir import best_checkpoint
from stanhop.training.lit import LR_KEY

# The hyperparameters that make a model the same model: what a refit must share with the
# run it takes its epoch count from.
SAME_MODEL = ("model", "series_names", "targets", "covariates", "calendar", "future", "freq")
# The callbacks that need a validation or test split, which a refit does not have.
NEEDS_HELD_OUT = ("early_stopping", "outliers", "quantization", "intervals", "seasonal_naive")


class ReplayedLR:
    """The learning-rate factor of epoch ``e`` relative to ``base``: the validated run's
    rate of that epoch (its last one beyond them)."""

    def __init__(self, lr_by_epoch: list[float], base: float) -> None:
        self.lr_by_epoch, self.base = lr_by_epoch, base

    def __call__(self, epoch: int) -> float:
        return self.lr_by_epoch[min(epoch, len(self.lr_by_epoch) - 1)] / self.base


def replay_schedule(lr_by_epoch: list[float]) -> Any:
    """A scheduler factory that steps ``optimizer`` through ``lr_by_epoch``, one per epoch."""

    def factory(optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LambdaLR:
        base = optimizer.param_groups[0]["lr"]
        return torch.optim.lr_scheduler.LambdaLR(optimizer, ReplayedLR(lr_by_epoch, base))

    return factory


@dataclass(frozen=True)
class ValidatedRun:
    """What a refit takes from a validated run's best checkpoint."""

    path: Path
    epochs: int
    lr_by_epoch: list[float]
    hparams: dict[str, Any]
    intervals: dict[str, Any] | None

    @classmethod
    def read(cls, where: str | Path) -> ValidatedRun:
        path = best_checkpoint(where)
        checkpoint = load_checkpoint(path)
        epochs = int(checkpoint.get("epoch", -1)) + 1
        lr_by_epoch = [float(lr) for lr in checkpoint.get(LR_KEY, [])][:epochs]
        if epochs < 1 or len(lr_by_epoch) < epochs:
            raise ValueError(
                f"refit_from={where}: {path} does not record the learning rate of each epoch "
                "it trained; train the validated run again with this version"
            )
        return cls(
            path, epochs, lr_by_epoch, checkpoint["hyper_parameters"], checkpoint.get(INTERVALS_KEY)
        )

    def check_same_model(self, hparams: dict[str, Any]) -> None:
        """A one-line ``ValueError`` unless ``hparams`` (the refit's module) describe the
        validated run's model on the same series, targets and inputs."""
        differ = [key for key in SAME_MODEL if hparams.get(key) != self.hparams.get(key)]
        if differ:
            key = differ[0]
            raise ValueError(
                f"refit_from={self.path}: the refit's {', '.join(differ)} differ from the "
                f"validated run's ({key}: {_short(hparams.get(key))} against "
                f"{_short(self.hparams.get(key))}); refit with the validated run's settings"
            )

    def configure(self, cfg: DictConfig) -> DictConfig:
        """``cfg`` for the refit: the validated run's epoch count, no validation, no
        evaluation of held-out rows, the last epoch's weights as the best checkpoint."""
        cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
        with open_dict(cfg):
            cfg.trainer.max_epochs = self.epochs
            cfg.trainer.limit_val_batches = 0
            cfg.trainer.num_sanity_val_steps = 0
            for name in NEEDS_HELD_OUT:
                if name in (cfg.get("callbacks") or {}):
                    cfg.callbacks[name] = None
            checkpoint = (cfg.get("callbacks") or {}).get("model_checkpoint")
            if checkpoint is not None:
                checkpoint.monitor = None
        return cfg


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."
