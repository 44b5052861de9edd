"""The training order: seeded by (seed, epoch) alone, split across DDP processes like one
big batch, and resumable mid-epoch."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import TensorDataset

from stanhop.data import loader as loader_module
from stanhop.data.loader import EpochShuffleSampler, ResumableLoader


def dataset(n: int) -> TensorDataset:
    return TensorDataset(torch.arange(n))


def batches(loader: ResumableLoader) -> list[list[int]]:
    return [b[0].tolist() for b in loader]


def test_the_order_depends_on_seed_and_epoch_only() -> None:
    a, b = EpochShuffleSampler(50, seed=3), EpochShuffleSampler(50, seed=3)
    torch.manual_seed(0)
    first = list(a)
    torch.manual_seed(1)  # the global RNG plays no part
    assert list(b) == first
    assert sorted(first) == list(range(50)) and first != list(range(50))
    a.set_epoch(1)
    assert list(a) != first and sorted(a) == list(range(50))
    assert list(EpochShuffleSampler(50, seed=4)) != first
    assert list(EpochShuffleSampler(50, seed=3, shuffle=False)) == list(range(50))


@pytest.mark.parametrize("world", [2, 3])
def test_processes_share_out_the_batches_a_single_process_would_see(monkeypatch, world) -> None:
    n, batch = 61, 4
    single = EpochShuffleSampler(n, seed=7)
    single.set_epoch(2)
    order = list(single)
    per_rank = []
    for rank in range(world):
        monkeypatch.setattr(loader_module, "_process_group", lambda r=rank: (r, world))
        sampler = EpochShuffleSampler(n, seed=7)
        sampler.set_epoch(2)
        per_rank.append(list(sampler))
        assert len(sampler) == n // world == len(per_rank[-1])
    # Step i of every process together is batch i of a single process with world × batch.
    for step in range(n // world // batch):
        together = [i for own in per_rank for i in own[step * batch : (step + 1) * batch]]
        assert sorted(together) == sorted(order[step * world * batch : (step + 1) * world * batch])
    assert len({i for own in per_rank for i in own}) == n - n % world  # no window twice


def test_a_restored_loader_continues_where_the_saved_one_stopped() -> None:
    full = ResumableLoader(dataset(23), batch_size=5, seed=1)
    full.epoch_sampler.set_epoch(3)
    expected = batches(full)

    interrupted = ResumableLoader(dataset(23), batch_size=5, seed=1)
    interrupted.epoch_sampler.set_epoch(3)
    seen = []
    for batch in interrupted:
        seen.append(batch[0].tolist())
        if len(seen) == 2:
            break
    state = interrupted.state_dict()
    assert state == {"epoch": 3, "batches_done": 2}

    resumed = ResumableLoader(dataset(23), batch_size=5, seed=1)
    resumed.load_state_dict(state)
    resumed.epoch_sampler.set_epoch(3)  # what Lightning does at the epoch's start
    rest = batches(resumed)
    assert seen + rest == expected
    assert resumed.state_dict() == {"epoch": 3, "batches_done": len(expected)}
    # The skip applies once: the next pass over the same epoch is whole again.
    assert batches(resumed) == expected


def test_a_state_saved_at_an_epoch_end_skips_nothing_in_the_next_epoch() -> None:
    loader = ResumableLoader(dataset(12), batch_size=4, seed=0)
    loader.load_state_dict({"epoch": 0, "batches_done": 3})
    loader.epoch_sampler.set_epoch(1)
    assert len(batches(loader)) == 3
