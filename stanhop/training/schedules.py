"""Learning-rate schedules of the training recipes (conf/recipe/) that torch has no single
class for. Each is a factory ``(optimizer, ...) -> LRScheduler`` stepped once per epoch."""

from __future__ import annotations

from torch.optim import Optimizer
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, LRScheduler, SequentialLR


def warmup_cosine(
    optimizer: Optimizer,
    warmup_epochs: int,
    max_epochs: int,
    start_factor: float = 0.1,
    min_factor: float = 0.01,
) -> LRScheduler:
    """Linear warm-up from ``start_factor``·lr over ``warmup_epochs``, then cosine decay to
    ``min_factor``·lr at ``max_epochs``: torch's ``LinearLR`` and ``CosineAnnealingLR``
    in a ``SequentialLR``. A run too short for its warm-up (``debug=fast``'s one epoch)
    warms up for all but its last epoch."""
    if warmup_epochs < 0 or max_epochs < 1:
        raise ValueError(
            f"scheduler.warmup_epochs ({warmup_epochs}) must be at least 0 and "
            f"trainer.max_epochs ({max_epochs}) at least 1"
        )
    warmup_epochs = min(warmup_epochs, max_epochs - 1)
    base_lr = optimizer.param_groups[0]["lr"]
    decay = CosineAnnealingLR(
        optimizer, T_max=max(max_epochs - warmup_epochs, 1), eta_min=base_lr * min_factor
    )
    if warmup_epochs == 0:
        return decay
    warmup = LinearLR(optimizer, start_factor=start_factor, total_iters=warmup_epochs)
    return SequentialLR(optimizer, [warmup, decay], milestones=[warmup_epochs])
