"""External memory end to end: `train(cfg)` with each memory, its sources, tuning alone."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import instantiate

from stanhop.data import DataError, make_synthetic
from stanhop.data.memory_windows import memory_windows, windows_from_csv
from stanhop.model.config import MemoryConfig
from stanhop.training.lit import LitForecaster
from stanhop.training.train import train

FAST = ("debug=fast", "logger=none", "memory.size=8")
EVENTS = ("data.source.recurring_events=3", "data.source.n_steps=2000")


def best_ckpt(cfg) -> Path:
    return Path(cfg.paths.output_dir) / "checkpoints" / "best.ckpt"


@pytest.mark.slow  # a run or command end to end: seconds each
@pytest.mark.parametrize("memory", ["plug_and_play", "tune_and_play"])
def test_training_with_memory_saves_it_in_a_weights_only_checkpoint(compose_cfg, memory) -> None:
    cfg = compose_cfg(*FAST, f"memory={memory}")
    metrics = train(cfg)
    assert math.isfinite(metrics["test/mse"])
    state = torch.load(best_ckpt(cfg), map_location="cpu", weights_only=True)
    assert state["state_dict"]["model.memory.windows"].shape == (8, 48, 7)
    loaded = LitForecaster.load_from_checkpoint(best_ckpt(cfg), map_location="cpu")
    assert loaded.model.cfg.memory.name == memory
    dm = instantiate(cfg.data)
    dm.setup()
    sampled = memory_windows("train", dm, 8, cfg.seed)
    if memory == "plug_and_play":  # never trained: still the sampled training windows
        assert torch.equal(loaded.model.memory.windows, sampled)
    else:  # initialised from them, then trained
        assert not torch.equal(loaded.model.memory.windows, sampled)


@pytest.mark.slow  # a run or command end to end: seconds each
def test_tuning_memory_alone_keeps_the_backbone_of_its_checkpoint(compose_cfg, tmp_path) -> None:
    backbone_cfg = compose_cfg(*FAST, f"paths.output_dir={tmp_path / 'backbone'}")
    train(backbone_cfg)
    cfg = compose_cfg(
        *FAST,
        "memory=tune_and_play",
        "memory.freeze_backbone=true",
        f"memory.backbone_ckpt={best_ckpt(backbone_cfg)}",
    )
    assert math.isfinite(train(cfg)["test/mse"])
    before = torch.load(best_ckpt(backbone_cfg), weights_only=True)["state_dict"]
    after = torch.load(best_ckpt(cfg), weights_only=True)["state_dict"]
    assert {k for k in after if not k.startswith("model.memory.")} == set(before)
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert after["model.memory.gate.weight"].abs().sum() > 0  # the gate opened


def test_freezing_without_a_backbone_checkpoint_is_an_error(compose_cfg) -> None:
    with pytest.raises(ValueError, match=r"give its checkpoint as memory.backbone_ckpt=PATH"):
        train(compose_cfg(*FAST, "memory=tune_and_play", "memory.freeze_backbone=true"))


def test_event_windows_come_from_labelled_events(compose_cfg) -> None:
    cfg = compose_cfg(*FAST, *EVENTS, "memory=plug_and_play", "memory.source=events")
    dm = instantiate(cfg.data)
    dm.setup()
    windows = memory_windows("events", dm, 8, seed=0)
    rows = dm.source.event_rows()
    train_values = dm.datasets["train"].values.numpy()
    # each window is a stretch of training rows that overlaps an event
    for window in windows.numpy():
        start = int(np.flatnonzero((train_values == window[0]).all(axis=1))[0])
        assert rows[start : start + 48].any()
    with pytest.raises(DataError, match="labelled events"):
        memory_windows("events", instantiate(compose_cfg(*FAST).data), 8, seed=0)


def test_memory_from_a_csv_of_history(compose_cfg, tmp_path) -> None:
    cfg = compose_cfg(*FAST)
    dm = instantiate(cfg.data)
    dm.setup()
    history = make_synthetic(n_steps=60, seed=5)
    path = tmp_path / "history.csv"
    history[history.columns[::-1]].to_csv(path)  # columns in another order
    windows = windows_from_csv(path, dm.series_names, dm.scaler, 48, size=None)
    expected = dm.scaler.transform(history.to_numpy()[np.arange(13)[:, None] + np.arange(48)])
    np.testing.assert_allclose(windows.numpy(), expected, rtol=1e-6, atol=1e-6)
    assert len(windows_from_csv(path, dm.series_names, dm.scaler, 48, size=5)) == 5
    with pytest.raises(DataError, match=r"lacks the model's series 's6'"):
        history.drop(columns="s6").to_csv(path)
        windows_from_csv(path, dm.series_names, dm.scaler, 48)
    with pytest.raises(DataError, match="has 30 rows, fewer than in_len=48"):
        history.iloc[:30].to_csv(path)
        windows_from_csv(path, dm.series_names, dm.scaler, 48)
    with pytest.raises(DataError, match="neither train nor events nor an existing CSV"):
        memory_windows("trian", dm, 8, seed=0)


@pytest.mark.parametrize("option", ["none", "plug_and_play", "tune_and_play"])
def test_every_memory_option_composes_into_a_model_config(compose_cfg, option) -> None:
    cfg = compose_cfg(f"memory={option}", "seed=7")
    assert cfg.memory.name == option and cfg.memory.seed == 7
    MemoryConfig(cfg.memory.name, cfg.memory.size)
