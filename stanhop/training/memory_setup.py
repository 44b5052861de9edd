"""Give a training run the external memory ``cfg.memory`` asks for (``conf/memory/``
instantiates a :class:`MemorySetup`): the backbone weights to start from, the memory
windows from their source, and, for ``memory.freeze_backbone``, gradients to the memory
alone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from stanhop.data.memory_windows import memory_windows
from stanhop.files.checkpoint import model_weights
from stanhop.model.memory import WindowMemory

_MEMORY = "memory."


def load_backbone(model: nn.Module, path: str | Path) -> None:
    """Load every weight but the memory's into ``model`` from the Lightning checkpoint
    at ``path`` (read with ``weights_only=True``); the memory keeps its own."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"memory.backbone_ckpt={path}: file not found; give a .ckpt path")
    state = torch.load(path, map_location="cpu", weights_only=True).get("state_dict", {})
    backbone = {
        key: value for key, value in model_weights(state).items() if not key.startswith(_MEMORY)
    }
    try:
        missing, unexpected = model.load_state_dict(backbone, strict=False)
    except RuntimeError as err:  # a tensor of another shape
        reason = " ".join(str(err).split())
        raise ValueError(
            f"memory.backbone_ckpt={path} does not fit this model ({reason[:200]}); train it "
            "with the same data and model settings"
        ) from None
    missing = [key for key in missing if not key.startswith(_MEMORY)]
    if missing or unexpected:
        raise ValueError(
            f"memory.backbone_ckpt={path} does not fit this model (missing {missing[:3]}, "
            f"unexpected {unexpected[:3]}); train it with the same model settings"
        )


@dataclass(frozen=True)
class MemorySetup:
    """How training sets up the external memory of ``memory=NAME``; every field comes
    from ``conf/memory/`` (its defaults in ``none.yaml``, with what each means). The
    model's own memory options, ``name`` and ``size``, also go to the model's config."""

    name: str
    size: int
    source: str
    seed: int | None
    freeze_backbone: bool
    backbone_ckpt: str | None

    def apply(self, model: nn.Module, datamodule: Any) -> None:
        """Start ``model`` (a STanHop-Net) from ``backbone_ckpt`` when given and fill its
        memory windows from ``source`` for a set-up datamodule."""
        if self.backbone_ckpt:
            load_backbone(model, self.backbone_ckpt)
        elif self.freeze_backbone:
            raise ValueError(
                "memory.freeze_backbone=true tunes the memory of a trained model; give its "
                "checkpoint as memory.backbone_ckpt=PATH"
            )
        if isinstance(model.memory, WindowMemory):
            windows = memory_windows(self.source, datamodule, self.size, self.seed)
            model.memory.set_windows(windows)


def memory_parameters(model: nn.Module) -> Iterator[tuple[str, nn.Parameter]]:
    """The named parameters of ``model.memory`` (the bank, retrieval and gate), named as
    in ``model.named_parameters()``."""
    return ((name, param) for name, param in model.named_parameters() if name.startswith("memory."))


def tune_memory_only(model: nn.Module) -> None:
    """Stop gradients to everything of ``model`` but its memory, so that training (with
    an optimiser over the parameters that require a gradient) tunes the memory alone."""
    tuned = {name for name, _ in memory_parameters(model)}
    if not tuned:
        raise ValueError(
            "memory.freeze_backbone=true but the model has no trainable memory; "
            "choose memory=tune_and_play or memory=plug_and_play"
        )
    for name, param in model.named_parameters():
        param.requires_grad_(name in tuned)
