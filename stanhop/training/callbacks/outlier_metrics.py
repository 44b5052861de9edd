"""Lightning callback: activation-outlier metrics of the model under evaluation."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from lightning.pytorch.loggers import WandbLogger

from stanhop.measures.outliers import OutlierRecorder, aggregate
from stanhop.training.callbacks.outlier_files import write_outlier_files
from stanhop.training.wandb_dashboard import log_outlier_table


def reduce_recorder(trainer: L.Trainer, recorder: OutlierRecorder) -> None:
    """Sum every process's running sums, so all processes hold the whole split's means."""
    sums = recorder.sums().to(trainer.strategy.root_device)
    recorder.load_sums(trainer.strategy.reduce(sums, reduce_op="sum").cpu())


class OutlierMetrics(L.Callback):
    """Kurtosis and infinity norm at every tap point (Hopfield outputs, MLP outputs,
    LayerNorm outputs, residual sums), averaged over the samples of the split.

    On the test split (always): logs ``outliers/avg_kurtosis``, ``outliers/max_kurtosis``,
    ``outliers/max_inf_norm`` and ``outliers/max_ffn_inf_norm`` (which reach
    ``metrics.json``), every tap's pair as ``outliers/tap/<name>/{kurtosis,inf_norm}`` to
    the loggers, and writes ``outliers.csv`` and ``outliers.png`` into ``output_dir``.
    With ``every_n_val_epochs=N``, also on validation every N training epochs under
    ``val_outliers/...``, so a dashboard shows outliers grow (or not) while training.
    """

    def __init__(self, output_dir: str | None = None, every_n_val_epochs: int | None = None):
        super().__init__()
        if every_n_val_epochs is not None and every_n_val_epochs < 1:
            raise ValueError(
                f"outliers.every_n_val_epochs must be a positive integer or null, "
                f"got {every_n_val_epochs}"
            )
        self.output_dir = Path(output_dir) if output_dir else None
        self.every_n_val_epochs = every_n_val_epochs
        self._recorder: OutlierRecorder | None = None
        self.rows: list[dict[str, object]] = []

    def _start(self, pl_module: L.LightningModule) -> None:
        self._recorder = OutlierRecorder(pl_module.model, keep_samples=True).__enter__()

    def _finish(self, trainer: L.Trainer, pl_module: L.LightningModule, prefix: str) -> None:
        recorder, self._recorder = self._recorder, None
        recorder.__exit__(None, None, None)
        reduce_recorder(trainer, recorder)
        rows = recorder.table()
        if not rows:
            return
        # Every process holds the whole split's figures now: syncing averages equal values.
        for name, value in aggregate(rows).items():
            pl_module.log(f"{prefix}/{name}", value, on_epoch=True, sync_dist=True)
        if not trainer.is_global_zero:
            return
        per_tap = {
            f"{prefix}/tap/{row['tap']}/{stat}": float(row[stat])
            for row in rows
            for stat in ("kurtosis", "inf_norm")
        }
        for logger in trainer.loggers:
            logger.log_metrics(per_tap, step=trainer.global_step)
            if isinstance(logger, WandbLogger):
                log_outlier_table(logger, prefix, rows, recorder.samples)
        self.rows = rows
        if prefix == "outliers" and self.output_dir is not None:
            write_outlier_files(rows, self.output_dir)

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start(pl_module)

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._finish(trainer, pl_module, "outliers")

    def _validation_due(self, trainer: L.Trainer) -> bool:
        return (
            self.every_n_val_epochs is not None
            and trainer.state.fn == "fit"
            and not trainer.sanity_checking
            and (trainer.current_epoch + 1) % self.every_n_val_epochs == 0
        )

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._validation_due(trainer):
            self._start(pl_module)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._recorder is not None:
            self._finish(trainer, pl_module, "val_outliers")
