"""Tuning the memory alone on a frozen backbone (memory.freeze_backbone)."""

from __future__ import annotations

import pytest
import torch

from stanhop.model import STanHopNet
from stanhop.model.config import MemoryConfig
from stanhop.training.memory_setup import tune_memory_only

IN_LEN, N_SERIES = 24, 3


def test_tuning_with_a_frozen_backbone_changes_only_memory_and_gate(tiny_config) -> None:
    torch.manual_seed(0)
    model = STanHopNet(tiny_config(memory=MemoryConfig("tune_and_play", 5)))
    model.memory.set_windows(torch.randn(5, IN_LEN, N_SERIES))
    tune_memory_only(model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.Adam((p for p in model.parameters() if p.requires_grad), lr=1e-2)
    for _ in range(3):
        optimizer.zero_grad()
        x, y = torch.randn(8, IN_LEN, N_SERIES), torch.randn(8, 12, N_SERIES)
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    tuned = {k for k in before if k.startswith("memory.")}
    assert changed == tuned  # every memory tensor moved, nothing else did
    assert {"memory.windows", "memory.gate.weight"} <= changed


def test_a_model_without_memory_cannot_tune_memory_only(tiny_config) -> None:
    with pytest.raises(ValueError, match="no trainable memory"):
        tune_memory_only(STanHopNet(tiny_config()))
