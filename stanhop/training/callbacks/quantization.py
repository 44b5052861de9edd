"""Lightning callback: post-training integer quantisation of the trained model, simulated
on a copy and evaluated on the test split."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import nullcontext
from types import MappingProxyType
from typing import Any

import lightning as L
import torch
from einops import rearrange
from torch import nn

from stanhop.measures.bits import BitWidths
from stanhop.measures.fake_quant import SimulatedQuantModel, detached_copy
from stanhop.measures.observers import ESTIMATORS
from stanhop.measures.outliers import OutlierRecorder, aggregate
from stanhop.training.callbacks.outlier_metrics import reduce_recorder


def _whole_batch(trainer: L.Trainer, x: torch.Tensor) -> torch.Tensor:
    """The batch ``x`` (b, t, c) of this step across all DDP processes: process ``r`` of
    ``w`` holds entries ``r, r + w, …`` of the batch a single process with batch ``w·b``
    would see (see ``EpochShuffleSampler``), so gathering them back in that order gives
    every process the same calibration data, hence the same quantised model, as one
    process with the same total batch."""
    if trainer.world_size == 1:
        return x
    return rearrange(trainer.strategy.all_gather(x), "w b t c -> (b w) t c")


class QuantizationEvaluation(L.Callback):
    """After the float test pass, for each bit width (e.g. ``W8A8``): copy the model,
    fake-quantise it, calibrate activation ranges on ``calibration_batches`` training
    batches, then evaluate on the same test batches as the float model.

    Logs ``quant/<bits>/mse``, ``quant/<bits>/mae`` (standardised scale, like
    ``test/mse``), ``quant/<bits>/mse_ratio`` (quantised / float MSE on the same batches)
    and, with ``outliers=True``, the quantised model's outlier aggregates
    (``quant/<bits>/avg_kurtosis`` …). The trained weights are never touched.
    """

    def __init__(
        self,
        bit_widths: Sequence[str] = ("W8A8",),
        estimator: str = "running_minmax",
        estimator_kwargs: Mapping[str, Any] | None = MappingProxyType({}),
        per_channel: bool = False,
        calibration_batches: int = 16,
        outliers: bool = True,
    ) -> None:
        super().__init__()
        self.bit_widths = [BitWidths.parse(bits) for bits in bit_widths]
        if not self.bit_widths:
            raise ValueError("quantization.bit_widths is empty; give at least one, e.g. [W8A8]")
        if estimator not in ESTIMATORS:
            raise ValueError(
                f"unknown range estimator {estimator!r}; choose one of {sorted(ESTIMATORS)}"
            )
        if calibration_batches < 1:
            raise ValueError(
                f"quantization.calibration_batches must be at least 1, got {calibration_batches}"
            )
        self.estimator = estimator
        self.estimator_kwargs = dict(estimator_kwargs or {})
        self.per_channel = per_channel
        self.calibration_batches = calibration_batches
        self.outliers = outliers
        self.results: dict[str, float] = {}

    def _inputs(
        self, trainer: L.Trainer, device: torch.device
    ) -> Iterator[tuple[torch.Tensor, ...]]:
        datamodule = trainer.datamodule
        if datamodule is None:
            raise ValueError(
                "quantization calibration needs a datamodule; pass datamodule= to "
                "trainer.test, or drop the callback with callbacks.quantization=null"
            )
        # A batch is (x, y) or, with future features, (x, y, future): the model's inputs
        # are x and future.
        for x, _, *future in datamodule.train_dataloader():
            yield tuple(_whole_batch(trainer, t.to(device)) for t in (x, *future))

    def _test_batches(self, trainer: L.Trainer) -> Iterator[tuple[torch.Tensor, ...]]:
        loaders = trainer.test_dataloaders
        loader = loaders[0] if isinstance(loaders, (list, tuple)) else loaders
        limit = trainer.num_test_batches[0]
        for i, batch in enumerate(loader):
            if i >= limit:
                break
            yield batch

    @torch.no_grad()
    def _evaluate(
        self, trainer: L.Trainer, model: nn.Module, quantized: SimulatedQuantModel
    ) -> tuple[dict[str, float], OutlierRecorder | None]:
        device = next(model.parameters()).device
        # Squared error of float and quantised, absolute error of quantised, count.
        sums = torch.zeros(4, dtype=torch.float64, device=device)
        recorder = OutlierRecorder(quantized.model) if self.outliers else None
        with recorder or nullcontext():
            for x, y, *future in self._test_batches(trainer):
                x, y = x.to(device), y.to(device)
                inputs = (x, *[t.to(device) for t in future])
                pred_float, pred_quant = model(*inputs), quantized(*inputs)
                sums += torch.stack(
                    [
                        (pred_float - y).pow(2).sum(),
                        (pred_quant - y).pow(2).sum(),
                        (pred_quant - y).abs().sum(),
                        torch.tensor(float(y.numel()), device=device),
                    ]
                ).double()
        float_se, quant_se, quant_ae, count = trainer.strategy.reduce(
            sums, reduce_op="sum"
        ).tolist()
        metrics = {
            "mse": quant_se / count,
            "mae": quant_ae / count,
            "mse_ratio": quant_se / float_se if float_se > 0 else float("nan"),
        }
        return metrics, recorder

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # A copy, so the float reference pass is not seen by hooks on the trained model.
        model = detached_copy(pl_module.model)
        for bits in self.bit_widths:
            quantized = SimulatedQuantModel(
                model, bits, self.estimator, self.estimator_kwargs, self.per_channel
            )
            quantized.calibrate(self._inputs(trainer, pl_module.device), self.calibration_batches)
            metrics, recorder = self._evaluate(trainer, model, quantized)
            if recorder is not None:
                reduce_recorder(trainer, recorder)
                metrics.update(aggregate(recorder.table()))
            # Reduced over processes above, so syncing averages equal values.
            for name, value in metrics.items():
                key = f"quant/{bits.name}/{name}"
                self.results[key] = value
                pl_module.log(key, value, on_epoch=True, sync_dist=True)
