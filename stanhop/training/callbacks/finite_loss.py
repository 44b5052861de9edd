"""Lightning callback: stop training at the first non-finite loss or gradient, before
the optimiser writes NaNs into the weights, and say where to resume from."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint


class NonFiniteLossError(ValueError):
    """Training produced a NaN or infinite loss or gradient; the message is one line."""


class StopOnNonFinite(L.Callback):
    """Raises :class:`NonFiniteLossError` as soon as the training loss, or the gradient
    about to be applied, is NaN or infinite.

    The check runs before the backward pass (loss) and before the optimiser step
    (gradients), so the weights are never updated with NaNs and no checkpoint written
    afterwards — best or last — can hold them; the run stops instead of training on
    garbage. Under DDP the decision is shared, so every process stops at the same step.
    """

    def on_before_backward(
        self, trainer: L.Trainer, pl_module: L.LightningModule, loss: torch.Tensor
    ) -> None:
        self._check(trainer, bool(torch.isfinite(loss.detach()).all()), "loss")

    def on_before_optimizer_step(
        self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer: torch.optim.Optimizer
    ) -> None:
        grads = [p.grad.detach() for p in pl_module.parameters() if p.grad is not None]
        if not grads:
            return
        self._check(trainer, all_finite(grads), "gradient")

    def _check(self, trainer: L.Trainer, finite: bool, what: str) -> None:
        if not trainer.strategy.reduce_boolean_decision(not finite, all=False):
            return
        step = trainer.global_step + 1
        raise NonFiniteLossError(
            f"training stopped: non-finite {what} at step {step} (epoch {trainer.current_epoch}"
            f"); {_last_good(trainer)}; lower optimizer.lr or check the data for extreme "
            "values, then resume with ckpt_path=PATH"
        )


def _last_good(trainer: L.Trainer) -> str:
    """Where the newest checkpoint written so far is, for the message."""
    paths = [
        Path(path)
        for callback in trainer.checkpoint_callbacks
        if isinstance(callback, ModelCheckpoint)
        for path in (callback.last_model_path, callback.best_model_path)
        if path and Path(path).is_file()
    ]
    if not paths:
        return "no checkpoint was written before it"
    newest = max(paths, key=lambda p: p.stat().st_mtime)
    return f"the last good checkpoint is {newest}"


def all_finite(tensors: list[torch.Tensor]) -> bool:
    """Whether every element of every tensor is finite.

    One operator per device and dtype: the check torch's GradScaler runs before an
    optimiser step (here with a scale of 1, which leaves the tensors as they are). A
    check per tensor dispatches a few operators for each of the model's parameters,
    which cost 4 ms of a 0.1 s step at the default run's width.
    """
    found = []
    for (device, _), group in _by_device_and_dtype(tensors).items():
        flag = torch.zeros(1, device=device)
        torch._amp_foreach_non_finite_check_and_unscale_(group, flag, torch.ones(1, device=device))
        found.append(flag)
    return not bool(torch.stack(found).any())


def _by_device_and_dtype(
    tensors: list[torch.Tensor],
) -> dict[tuple[torch.device, torch.dtype], list[torch.Tensor]]:
    groups: dict[tuple[torch.device, torch.dtype], list[torch.Tensor]] = {}
    for tensor in tensors:
        groups.setdefault((tensor.device, tensor.dtype), []).append(tensor)
    return groups
