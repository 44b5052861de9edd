"""Pruning a hopeless tuning trial on its per-epoch validation MSE."""

from __future__ import annotations

import lightning as L
import optuna
from lightning.pytorch.trainer.states import TrainerFn


class PruneOnValidation(L.Callback):
    """Report ``monitor`` to an Optuna ``trial`` after every validation epoch (the epoch
    number is the step) and end the run with :class:`optuna.TrialPruned` when the study's
    pruner says so; Optuna records the trial as pruned.

    Written here rather than taken from ``optuna-integration``, whose callback ties
    itself to particular Lightning releases; this one uses only ``trial.report`` and
    ``trial.should_prune``.
    """

    def __init__(self, trial: optuna.Trial, monitor: str = "val/mse") -> None:
        self.trial = trial
        self.monitor = monitor

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # the sanity check and trainer.validate() after fitting are not training epochs
        if trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is None:
            return
        epoch = trainer.current_epoch
        self.trial.report(float(value), step=epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(
                f"trial {self.trial.number} pruned at epoch {epoch}: "
                f"{self.monitor} {float(value):.6g}"
            )
