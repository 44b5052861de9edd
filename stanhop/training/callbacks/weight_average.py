"""Lightning callback: an exponential moving average (EMA) of the weights, which the run
validates, checkpoints and tests in place of the weights themselves.

On a small validation split the best epoch's weights are one noisy draw along the
optimiser's path; their moving average is a smoother point on it (Polyak and Juditsky,
1992; Izmailov et al., 2018, https://arxiv.org/abs/1803.05407).

Lightning's own ``WeightAveraging`` swaps the average in for validation only, so after
fitting ``trainer.test(ckpt_path=...)`` would score the raw weights while validation and
a saved checkpoint's forecasts use the average; and it averages buffers too (a
plug-and-play memory's windows are data, not weights). This callback averages the
parameters alone and leaves every evaluation after fitting on the average.
"""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch
from lightning.pytorch.trainer.states import TrainerFn
from torch.optim.swa_utils import get_ema_multi_avg_fn

# the raw (not averaged) weights in a checkpoint written while fitting, by name, so a run
# resumed from it continues from where the optimiser was
RAW_WEIGHTS_KEY = "weight_average_raw"


def ema_decay(half_life: float, steps_per_epoch: int) -> float:
    """The per-step decay under which an update's weight in the average halves after
    ``half_life`` epochs of ``steps_per_epoch`` optimiser steps."""
    return 0.5 ** (1.0 / (half_life * steps_per_epoch))


class ExponentialWeightAverage(L.Callback):
    """After every optimiser step, ``average ← decay · average + (1 − decay) · weights``
    over the module's parameters (one fused ``torch`` update for all of them).

    ``half_life`` is in epochs, so one setting means the same on a dataset of 18 steps an
    epoch and on one of 300: the decay per step is derived from the epoch's step count
    when training starts. Validation while fitting, every checkpoint's ``state_dict``, the
    module after fitting, and so the test pass, interval calibration and forecasts all
    use the average. A checkpoint written while fitting also keeps the raw weights, so
    ``ckpt_path=last`` resumes both.
    """

    def __init__(self, half_life: float = 1.0) -> None:
        if not (isinstance(half_life, (int, float)) and math.isfinite(half_life)) or half_life <= 0:
            raise ValueError(
                f"weight_average.half_life={half_life!r}: give a positive number of epochs"
            )
        self.half_life = float(half_life)
        self.decay: float | None = None
        self._update: Any = None
        self._last_step = 0
        # The copy the module does not hold: the average while training, the raw weights
        # once fitting ended (the module then holds the average); None outside a fit.
        self._held: list[torch.Tensor] | None = None
        self._module_has_average = False

    @staticmethod
    def _parameters(module: L.LightningModule) -> list[torch.Tensor]:
        return [p for p in module.parameters() if p.requires_grad]

    @staticmethod
    def _names(module: L.LightningModule) -> list[str]:
        return [n for n, p in module.named_parameters() if p.requires_grad]

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        # At set-up, before a resumed checkpoint is loaded into it (on_load_checkpoint).
        if stage == TrainerFn.FITTING:
            self._held = [p.detach().clone() for p in self._parameters(pl_module)]
            self._module_has_average = False

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        steps = max(1, math.ceil(trainer.num_training_batches / trainer.accumulate_grad_batches))
        self.decay = ema_decay(self.half_life, steps)
        self._update = get_ema_multi_avg_fn(self.decay)
        self._last_step = trainer.global_step

    def _training(self, trainer: L.Trainer) -> bool:
        return (
            self._held is not None
            and not self._module_has_average
            and trainer.state.fn == TrainerFn.FITTING
        )

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, idx: int
    ) -> None:
        # global_step counts optimiser steps: a batch that only accumulated gradients, or
        # whose step was skipped, leaves the average as it is.
        if self._training(trainer) and trainer.global_step > self._last_step:
            with torch.no_grad():
                self._update(self._held, self._parameters(pl_module), None)
            self._last_step = trainer.global_step

    def _swap(self, pl_module: L.LightningModule) -> None:
        assert self._held is not None
        with torch.no_grad():
            for held, param in zip(self._held, self._parameters(pl_module), strict=True):
                module_copy = param.detach().clone()
                param.copy_(held)
                held.copy_(module_copy)
        self._module_has_average = not self._module_has_average

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._training(trainer):
            self._swap(pl_module)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._module_has_average and trainer.state.fn == TrainerFn.FITTING:
            self._swap(pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Fitting leaves the module on the average (a last checkpoint written after this
        # still keeps the raw weights); later passes load checkpoints, whose state_dict is
        # the average too.
        if self._training(trainer):
            self._swap(pl_module)

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        if self._held is None:
            return
        state = checkpoint["state_dict"]
        names = self._names(pl_module)
        # the tensors themselves, as state_dict holds the module's: the checkpoint is
        # written before the next step changes them
        held = dict(zip(names, self._held, strict=True))
        if self._module_has_average:
            checkpoint[RAW_WEIGHTS_KEY] = held
        else:
            checkpoint[RAW_WEIGHTS_KEY] = {name: state[name] for name in names}
            state.update(held)

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        # Called after the module took the checkpoint's state_dict (the average). Resuming
        # a fit: that is the average, and the raw weights go back into the module. Any
        # other pass evaluates the average, as loaded.
        raw = checkpoint.get(RAW_WEIGHTS_KEY)
        if raw is None or not self._training(trainer):
            return
        with torch.no_grad():
            params = self._parameters(pl_module)
            torch._foreach_copy_(self._held, params)
            torch._foreach_copy_(params, [raw[name] for name in self._names(pl_module)])
