"""Fine-tuning: a new run that starts from the weights of a trained model
(``init_from=CKPT``), its standardisation refit on the new data or kept
(``init_scaler=refit|keep``).

This differs from ``ckpt_path=`` (resuming): a resumed run continues the same run, with
its optimiser state, schedule, epoch, position in the data and random state; a run
``init_from`` a checkpoint takes nothing but the model's weights (and, with
``init_scaler=keep``, its scaler), and trains them afresh on its own data from epoch 0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from stanhop.data import Scaler
from stanhop.files.checkpoint import load_checkpoint, model_weights
from stanhop.files.run_dir import best_checkpoint

INIT_SCALERS = ("refit", "keep")


class InitialModel:
    """What a run ``init_from`` a checkpoint takes from it: the path, the model's weights,
    its input series, targets and scaler."""

    def __init__(self, path: str | Path, init_scaler: str = "refit") -> None:
        if init_scaler not in INIT_SCALERS:
            raise ValueError(
                f"init_scaler={init_scaler!r}; use refit (fit the scaler on this run's "
                "training rows) or keep (the checkpoint's)"
            )
        self.path = best_checkpoint(path)
        checkpoint = load_checkpoint(self.path)
        hparams = checkpoint["hyper_parameters"]
        self.weights = model_weights(checkpoint["state_dict"])
        self.series_names = [str(s) for s in hparams["series_names"]]
        self.targets = [str(t) for t in hparams.get("targets") or self.series_names]
        self.scaler = Scaler.from_dict(hparams["scaler"]) if init_scaler == "keep" else None
        self.init_scaler = init_scaler

    def check_data(self, datamodule: Any) -> None:
        """A one-line ``ValueError`` unless the data has the checkpoint's series and
        targets, in the same order (each series has weights of its own)."""
        if list(datamodule.series_names) != self.series_names:
            raise ValueError(
                f"init_from={self.path}: the model was trained on the series "
                f"{', '.join(self.series_names)}, this data has "
                f"{', '.join(datamodule.series_names)}; give data with the same columns in "
                "the same order"
            )
        if list(datamodule.target_names) != self.targets:
            raise ValueError(
                f"init_from={self.path}: the model forecasts {', '.join(self.targets)}, "
                f"this run {', '.join(datamodule.target_names)}; set data.targets to match"
            )

    def load_into(self, model: nn.Module) -> None:
        """Copy the stored weights into ``model``; a one-line ``ValueError`` naming the
        first weight that differs in name or shape."""
        own = model.state_dict()
        for key in sorted(set(own) | set(self.weights)):
            mine, stored = own.get(key), self.weights.get(key)
            if mine is None or stored is None or mine.shape != stored.shape:
                have = "none" if mine is None else tuple(mine.shape)
                got = "none" if stored is None else tuple(stored.shape)
                raise ValueError(
                    f"init_from={self.path}: its model differs from this run's at {key} "
                    f"(stored {got}, this run {have}); use the model settings of the run "
                    "that wrote it"
                )
        model.load_state_dict(self.weights)
