"""The training loader: a shuffle that depends only on (seed, epoch), split across DDP
processes, whose position Lightning saves in checkpoints so that a run resumed from a
checkpoint written mid-epoch sees exactly the batches the uninterrupted run would have.

A plain ``DataLoader(shuffle=True)`` draws its order from the global RNG and restarts the
epoch on resume; Lightning restores a loader's position only when the loader itself has
``state_dict`` / ``load_state_dict``, which :class:`ResumableLoader` provides.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, Sampler


def _process_group() -> tuple[int, int]:
    """(rank, world size) of this process; (0, 1) outside distributed training."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def own_generator(seed: int = 0) -> torch.Generator:
    """A generator for a DataLoader's own draws. Without one, every new iterator of a
    DataLoader takes a number from the global RNG (its workers' base seed), so a resumed
    run, which starts its iterators at other moments, would draw other dropout masks."""
    return torch.Generator().manual_seed(seed)


class EpochShuffleSampler(Sampler[int]):
    """Indices ``0..n-1`` in an order seeded by ``(seed, epoch)``, never by the global RNG.

    Under DDP each of the ``w`` processes takes every ``w``-th index of the same order
    (the order is first cut to a multiple of ``w``, so every process runs the same number
    of steps). Process ``r`` with batch ``b`` then sees, at step ``i``, exactly the
    entries ``r, r + w, …`` of the batch of ``w·b`` that a single process would see, so
    DDP's averaged gradient equals the single process's gradient on that batch.

    ``skip`` indices at the start of epoch ``skip_epoch`` are left out once: that is how a
    resumed run skips the batches its checkpoint had already trained on.
    """

    def __init__(self, n: int, seed: int, shuffle: bool = True) -> None:
        self.n, self.seed, self.shuffle = n, seed, shuffle
        self.epoch = 0
        self._skip_epoch, self._skip = 0, 0

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning at the start of every training epoch."""
        self.epoch = epoch

    def skip_once(self, epoch: int, n_indices: int) -> None:
        self._skip_epoch, self._skip = epoch, n_indices

    def pending_skip(self) -> int:
        """How many indices the next iteration leaves out (0 unless resuming)."""
        return self._skip if self._skip_epoch == self.epoch else 0

    def _order(self) -> torch.Tensor:
        if not self.shuffle:
            return torch.arange(self.n)
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return torch.randperm(self.n, generator=generator)

    def _own(self) -> torch.Tensor:
        rank, world = _process_group()
        order = self._order()
        return order[: len(order) - len(order) % world][rank::world]

    def __len__(self) -> int:
        _, world = _process_group()
        return self.n // world

    def __iter__(self) -> Iterator[int]:
        own = self._own()[self.pending_skip() :]
        self._skip = 0
        return iter(own.tolist())


class ResumableLoader(DataLoader):
    """A ``DataLoader`` over an :class:`EpochShuffleSampler` that tells Lightning how far
    into the epoch it is (``state_dict``) and resumes there (``load_state_dict``)."""

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        seed: int,
        shuffle: bool = True,
        num_workers: int = 0,
        drop_last: bool = False,
    ) -> None:
        sampler = EpochShuffleSampler(len(dataset), seed, shuffle)
        super().__init__(
            dataset,
            batch_size=batch_size,
            sampler=sampler,
            drop_last=drop_last,
            num_workers=num_workers,
            # keeping workers alive saves re-forking them every epoch
            persistent_workers=num_workers > 0,
            generator=own_generator(seed),
        )
        self.epoch_sampler = sampler
        self._batches_done = 0

    def __iter__(self) -> Iterator[Any]:
        done = self.epoch_sampler.pending_skip() // self.batch_size
        for batch in super().__iter__():
            done += 1
            self._batches_done = done
            yield batch

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch_sampler.epoch, "batches_done": self._batches_done}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch_sampler.skip_once(state["epoch"], state["batches_done"] * self.batch_size)
