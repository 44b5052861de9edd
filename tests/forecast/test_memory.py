"""Attaching memory windows to a trained model for a forecast."""

from __future__ import annotations

import warnings

import pytest
import torch

from stanhop.forecast.memory import attach_memory
from stanhop.model import STanHopNet
from stanhop.model.config import MemoryConfig
from stanhop.model.memory import PlugAndPlayMemory, WindowMemory

IN_LEN, N_SERIES = 24, 3


def test_attach_memory_swaps_windows_without_touching_weights(tiny_config) -> None:
    torch.manual_seed(0)
    model = STanHopNet(tiny_config(memory=MemoryConfig("plug_and_play", 5))).eval()
    model.memory.set_windows(torch.randn(5, IN_LEN, N_SERIES))
    with torch.no_grad():
        model.memory.gate.weight.copy_(torch.eye(16))  # as if trained: the gate is open
    weights = {k: v.clone() for k, v in model.state_dict().items() if k != "memory.windows"}
    x = torch.randn(2, IN_LEN, N_SERIES)
    before = model(x)
    events = torch.randn(3, IN_LEN, N_SERIES)
    assert attach_memory(model, events) is model
    assert torch.equal(model.memory.windows, events)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in weights.items())
    assert not torch.equal(model(x), before)


def test_attach_memory_to_a_model_trained_without_memory_changes_nothing(tiny_config) -> None:
    torch.manual_seed(0)
    model = STanHopNet(tiny_config()).eval()
    x = torch.randn(2, IN_LEN, N_SERIES)
    before = model(x)
    with pytest.warns(UserWarning, match="gate is closed"):
        attach_memory(model, torch.randn(4, IN_LEN, N_SERIES))
    assert isinstance(model.memory, PlugAndPlayMemory) and not model.memory.training
    assert model.cfg.memory == MemoryConfig("plug_and_play", 4)
    assert torch.equal(model(x), before)


def test_attach_memory_of_the_wrong_shape_leaves_the_model_as_it_was(tiny_config) -> None:
    model = STanHopNet(tiny_config())
    with pytest.raises(ValueError, match="memory windows must have shape"):
        attach_memory(model, torch.randn(4, IN_LEN, N_SERIES + 2))
    assert model.cfg.memory.name == "none" and not isinstance(model.memory, WindowMemory)


def test_attach_memory_refuses_to_overwrite_a_learned_bank(tiny_config) -> None:
    model = STanHopNet(tiny_config(memory=MemoryConfig("tune_and_play", 5)))
    with warnings.catch_warnings(), pytest.raises(ValueError, match="learned bank"):
        warnings.simplefilter("error")
        attach_memory(model, torch.randn(5, IN_LEN, N_SERIES))
