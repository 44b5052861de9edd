"""Lightning callback: the intra-op thread count of ``threads=auto``, chosen from the
measured times of the run's own training steps
(:class:`stanhop.runtime.thread_tuner.ThreadTuner`)."""

from __future__ import annotations

import time
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_info

from stanhop.runtime.thread_tuner import ThreadTuner


class AdaptiveThreads(L.Callback):
    """Sets ``torch.set_num_threads`` before every training step to what ``tuner`` asks
    and tells it how long the step took (forward, backward and optimiser step: from the
    batch's start to its end); says in one line whenever the count changes. Validation
    runs with the count of the last training step; what follows training (the final
    validation and test passes) with the count the tuner keeps.

    For a run in one process: a step of a distributed run waits for the other processes,
    so its time says little about this process's threads, and ``train`` does not add the
    callback to one.
    """

    def __init__(self, tuner: ThreadTuner) -> None:
        self.tuner = tuner
        self._start: float | None = None

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        n = self.tuner.next_threads()
        if torch.get_num_threads() != n:
            torch.set_num_threads(n)
        self._start = time.perf_counter()

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        if self._start is None:
            return
        line = self.tuner.record(time.perf_counter() - self._start)
        self._start = None
        if line:
            rank_zero_info(line)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        torch.set_num_threads(self.tuner.current)
