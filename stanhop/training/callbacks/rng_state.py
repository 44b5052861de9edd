"""Lightning callback: the random number generators' states in every checkpoint, so a
resumed run draws the same dropout masks as the run it continues."""

from __future__ import annotations

import random
from typing import Any

import lightning as L
import numpy as np
import torch


class RNGState(L.Callback):
    """Saves the states of Python's, NumPy's and torch's generators (CPU and every CUDA
    device) with each checkpoint and restores them when a run resumes from it.

    Lightning checkpoints the model, optimiser, schedule and loops but not these; without
    them a run resumed from ``last.ckpt`` continues with other random draws than the
    uninterrupted run. The training order is seeded apart (``stanhop.data.loader``).
    """

    def state_dict(self) -> dict[str, Any]:
        numpy_state = np.random.get_state()
        state = {
            "python": random.getstate(),
            # ("MT19937", keys, pos, has_gauss, cached_gaussian): keys as a tensor, so the
            # checkpoint still loads with weights_only=True
            "numpy": [numpy_state[0], torch.from_numpy(numpy_state[1].copy()), *numpy_state[2:]],
            "torch": torch.get_rng_state(),
        }
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        version, keys, pos, has_gauss, cached = state_dict["numpy"]
        random.setstate(_as_tuples(state_dict["python"]))
        np.random.set_state((version, keys.numpy(), pos, has_gauss, cached))
        torch.set_rng_state(state_dict["torch"])
        if "cuda" in state_dict and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state_dict["cuda"])


def _as_tuples(value: Any) -> Any:
    """``random.setstate`` needs the tuples of ``getstate``; a checkpoint may hold lists."""
    if isinstance(value, (list, tuple)):
        return tuple(_as_tuples(v) for v in value)
    return value
