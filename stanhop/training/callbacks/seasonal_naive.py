"""Lightning callback: the seasonal-naive forecast's test errors on the model's own test
batches, so every run says whether it beat the trivial forecast."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_info

from stanhop.data.freq import season_length
from stanhop.measures.baselines import seasonal_naive

MSE, MAE = "test/seasonal_naive_mse", "test/seasonal_naive_mae"


class SeasonalNaiveMetrics(L.Callback):
    """Logs ``test/seasonal_naive_mse`` and ``test/seasonal_naive_mae`` (standardised,
    like ``test/mse``): the errors of repeating the last ``season`` steps of each input
    window, on exactly the test batches the model is scored on (its target series).

    ``season`` defaults to the season of the data's frequency
    (:func:`~stanhop.data.freq.season_length`: 24 for hourly data …). Without
    one, or with one longer than ``in_len``, nothing is logged, with a note.
    """

    def __init__(self, season: int | None = None) -> None:
        super().__init__()
        if season is not None and season < 1:
            raise ValueError(f"callbacks.seasonal_naive.season must be >= 1, got {season}")
        self.season = season
        self._active_season: int | None = None
        self._targets: list[int] | None = None
        self._sums = torch.zeros(2, dtype=torch.float64)
        self._count = 0

    def on_test_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        datamodule = trainer.datamodule
        season = self.season or season_length(getattr(datamodule, "freq", None))
        in_len = getattr(datamodule, "in_len", None)
        self._active_season = None
        if season is None or in_len is None or season > in_len:
            why = (
                "the data's frequency has no known season"
                if season is None
                else f"its season of {season} steps is longer than in_len {in_len}"
            )
            rank_zero_info(
                f"no seasonal-naive baseline: {why} (set callbacks.seasonal_naive.season)"
            )
            return
        self._active_season = season
        # The targets' columns of the inputs (None: all): covariates are not forecast.
        self._targets = getattr(datamodule, "target_indices", None)
        self._sums.zero_()
        self._count = 0

    def on_test_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if self._active_season is None:
            return
        x, y = batch[:2]  # (b, in_len, c), (b, out_len, k)
        if self._targets is not None:
            x = x[..., self._targets]  # (b, in_len, k)
        err = (seasonal_naive(x, y.shape[1], self._active_season) - y).double()
        self._sums += torch.stack([(err**2).sum(), err.abs().sum()]).cpu()
        self._count += y.numel()

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._active_season is None or self._count == 0:
            return
        mse, mae = (self._sums / self._count).tolist()
        # Every process evaluates every test window, so the values agree across processes.
        pl_module.log(MSE, mse, sync_dist=True)
        pl_module.log(MAE, mae, sync_dist=True)


def verdict(metrics: Mapping[str, float]) -> str | None:
    """One line comparing the model's test MSE with the seasonal-naive one, or None when
    the run has no seasonal-naive figure. Starts with ``warning:`` when the model does
    not beat it."""
    if MSE not in metrics or "test/mse" not in metrics:
        return None
    model, naive = metrics["test/mse"], metrics[MSE]
    if model < naive:
        return (
            f"test/mse {model:.4g} beats the seasonal-naive forecast's {naive:.4g} "
            f"({1 - model / naive:.0%} lower) on the same test windows"
        )
    return (
        f"warning: test/mse {model:.4g} does not beat the seasonal-naive forecast's "
        f"{naive:.4g} on the same test windows: the model has not learned more than "
        "repeating the last season"
    )
