"""Lightning callback: prediction intervals calibrated on the validation split after
training (``train`` stores them in the best checkpoint), and their coverage measured on the
test split."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightning as L
from lightning.pytorch.utilities import rank_zero_warn

from stanhop.measures.conformal import (
    DEFAULT_LEVELS,
    Calibration,
    calibrate,
    coverage_counts,
    level_name,
    model_errors,
    revin_of,
    scale_floor,
    window_scale,
)


class ConformalIntervals(L.Callback):
    """Split-conformal intervals (:mod:`stanhop.measures.conformal`) calibrated by
    :meth:`calibrate` from the model's errors on every validation window: ``train`` calls
    it after fitting, on the best weights, and writes the calibration into the best
    checkpoint under ``intervals``, so a forecast from that checkpoint can draw them. A
    test pass without a calibration calibrates on the weights being tested.

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

    def calibrate(self, pl_module: L.LightningModule, datamodule: Any) -> Calibration:
        """Calibrate the intervals from ``pl_module``'s errors on every validation window
        of ``datamodule`` (whatever ``trainer.limit_val_batches``: the more windows, the
        higher the levels the calibration can bound), in eval mode, each window's scale
        floored by its series' spread over the training rows; keeps and returns them.
        ``train`` calls it on the best weights and writes the result into the best
        checkpoint."""
        datamodule.setup("fit")
        floor = scale_floor(datamodule.datasets["train"].targets.numpy())
        was_training = pl_module.training
        pl_module.eval()
        try:
            errors, scales = model_errors(pl_module, datamodule.val_dataloader(), pl_module.device)
        finally:
            pl_module.train(was_training)
        per_window = revin_of(pl_module) is not None
        self.calibration = calibrate(errors, self.levels, scales if per_window else None, floor)
        unbounded = [lv for lv in self.calibration.levels if lv not in self._bounded()]
        if unbounded:
            rank_zero_warn(
                f"the {len(errors)} validation windows are too few to bound the "
                f"{', '.join(level_name(lv) for lv in unbounded)}% intervals; they are "
                "left out of the metrics, and forecasts cannot give them (a longer validation "
                "split gives them)"
            )
        return self.calibration

    def on_test_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.calibration is None:
            if trainer.datamodule is None:
                raise ValueError(
                    "interval calibration needs a datamodule; pass datamodule= to "
                    "trainer.test, or drop the callback with callbacks.intervals=null"
                )
            self.calibrate(pl_module, trainer.datamodule)
        self._counts = {lv: [0, 0, 0.0] for lv in self._bounded()}

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
            radius = self.calibration.scaled(level, scale)
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
