"""Lightning callback: calibrate prediction intervals on the validation split after
training, store them in the best checkpoint, and measure their coverage on the test split."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.utilities import rank_zero_warn

from stanhop.evaluation.conformal import (
    DEFAULT_LEVELS,
    Calibration,
    calibrate,
    coverage_counts,
    level_name,
    model_abs_errors,
    revin_of,
    window_scale,
)
from stanhop.files.checkpoint import INTERVALS_KEY, add_to_checkpoint


class ConformalIntervals(L.Callback):
    """At the start of the test pass — after training, on the weights being tested (the
    best checkpoint's, in ``train``) — calibrate split-conformal intervals
    (:mod:`stanhop.evaluation.conformal`) from the model's errors on every validation
    window, and write them into the tested checkpoint file under ``intervals``, so a
    forecast from that checkpoint can draw them.

    Then logs, for every level whose interval is bounded, ``test/coverage_<level>`` (the
    share of test values inside their interval, to compare with the level) and
    ``test/width_<level>`` (the mean interval width over windows, series and steps,
    standardised units), on the test batches the model's own metrics use.
    """

    def __init__(self, levels: Sequence[float] = DEFAULT_LEVELS) -> None:
        super().__init__()
        self.levels = tuple(levels)
        self.calibration: Calibration | None = None
        self._counts: dict[float, list[float]] = {}  # inside, total, summed widths

    def on_test_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        datamodule = trainer.datamodule
        if datamodule is None:
            raise ValueError(
                "interval calibration needs a datamodule; pass datamodule= to trainer.test, "
                "or drop the callback with callbacks.intervals=null"
            )
        # All validation windows, whatever trainer.limit_val_batches: the more windows,
        # the higher the levels the calibration can bound.
        errors = model_abs_errors(pl_module, datamodule.val_dataloader(), pl_module.device)
        per_window = revin_of(pl_module) is not None
        self.calibration = calibrate(errors, self.levels, per_window=per_window)
        unbounded = [lv for lv in self.calibration.levels if lv not in self._bounded()]
        if unbounded:
            rank_zero_warn(
                f"the {len(errors)} validation windows are too few to bound the "
                f"{', '.join(level_name(lv) for lv in unbounded)}% intervals; they are "
                "left out of the metrics, and forecasts cannot give them (a longer validation "
                "split gives them)"
            )
        self._counts = {lv: [0, 0, 0.0] for lv in self._bounded()}
        ckpt = trainer.ckpt_path
        if ckpt and trainer.is_global_zero:
            add_to_checkpoint(Path(ckpt), INTERVALS_KEY, self.calibration.to_dict())

    def _bounded(self) -> list[float]:
        return self.calibration.bounded_levels() if self.calibration else []

    def on_test_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        pred, (x, y) = outputs["pred"], batch[:2]
        scale = window_scale(pl_module, x.to(pred.device, pred.dtype))  # (b, 1, c)
        for level, counts in self._counts.items():
            radius = self.calibration.scaled(self.calibration.half_width(level), scale)
            inside, total = coverage_counts(y, pred, radius)
            counts[0] += inside
            counts[1] += total
            counts[2] += 2 * float(radius.sum())  # the widths of these values

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        for level, (inside, total, widths) in self._counts.items():
            if total == 0:
                continue
            name = level_name(level)
            width = widths / total
            # Every process evaluates every test window, so the values agree; syncing keeps
            # the logged copies identical, as for the model's own metrics.
            pl_module.log(f"test/coverage_{name}", inside / total, sync_dist=True)
            pl_module.log(f"test/width_{name}", width, sync_dist=True)
