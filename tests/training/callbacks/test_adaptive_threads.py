"""The callback of ``threads=auto`` sets the thread count of every training step to what
its tuner asks and gives the tuner each step's time."""

from __future__ import annotations

import lightning as L
import torch
from torch import nn

from stanhop.runtime.thread_tuner import ThreadTuner
from stanhop.training.callbacks.adaptive_threads import AdaptiveThreads


class Linear(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(8, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return nn.functional.mse_loss(self.layer(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


class SeenThreads(L.Callback):
    """The thread count each training step ran with (called after AdaptiveThreads)."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.seen.append(torch.get_num_threads())


def test_every_step_runs_with_the_count_the_tuner_plans_and_is_timed(tmp_path) -> None:
    before = torch.get_num_threads()
    # No early end or later check, whatever the steps take (a loaded test machine can make
    # a two-thread step hopeless): the plan is followed as written.
    never = float("inf")
    tuner = ThreadTuner(1, 2, block=2, warmup=1, current=1, hopeless=never, slow=never)
    seen = SeenThreads()
    data = torch.utils.data.TensorDataset(torch.randn(40, 8), torch.randn(40, 1))
    trainer = L.Trainer(
        max_epochs=1,
        callbacks=[AdaptiveThreads(tuner), seen],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    try:
        trainer.fit(Linear(), torch.utils.data.DataLoader(data, batch_size=2))
        after_training = torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
    assert after_training == tuner.current
    # the start count's warm-up step, then blocks of 2 steps: 1, 2, 1, 2 threads
    assert seen.seen[:9] == [1, 1, 1, 2, 2, 1, 1, 2, 2]
    assert tuner.reference is not None and tuner.reference > 0
    assert len(seen.seen) == 20 and set(seen.seen[9:]) == {tuner.current}
