"""Loading a forecaster from a checkpoint a training run wrote: the model rebuilt from
its spec and weights, with the scaler, series, calendar and calibration it was trained
with."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from stanhop.data import Scaler
from stanhop.files.checkpoint import INTERVALS_KEY, CheckpointError, load_checkpoint, model_weights
from stanhop.files.run_dir import best_checkpoint
from stanhop.measures.conformal import Calibration
from stanhop.model import build_model

T = TypeVar("T")


def load_forecaster(
    build: Callable[..., T], path: str | Path, map_location: Any, precision: str
) -> T:
    """``build`` (the forecaster class) called with what the checkpoint ``path`` (or the
    best checkpoint of the run folder ``path``) holds, read with
    ``torch.load(weights_only=True)`` onto ``map_location``; a one-line
    :class:`~stanhop.files.checkpoint.CheckpointError` for a checkpoint that is missing,
    damaged or not a stanhop checkpoint."""
    path = best_checkpoint(path)
    checkpoint = load_checkpoint(path, map_location)
    hparams = checkpoint["hyper_parameters"]
    weights = model_weights(checkpoint["state_dict"])
    if not weights:
        raise CheckpointError(
            f"{path}: not a stanhop checkpoint (its state_dict has no model weights); "
            "give a checkpoint written by stanhop's train.py"
        )
    try:
        spec = dict(hparams["model"])
        model = build_model(spec)
        model.load_state_dict(weights)
        return build(
            model.to(next(iter(weights.values())).device),
            Scaler.from_dict(hparams["scaler"]),
            hparams["series_names"],
            in_len=spec["in_len"],
            out_len=spec["out_len"],
            freq=hparams.get("freq"),
            last_train_timestamp=hparams.get("last_train_timestamp"),
            name=str(path),
            precision=precision,
            intervals=(
                Calibration.from_dict(checkpoint[INTERVALS_KEY])
                if INTERVALS_KEY in checkpoint
                else None
            ),
            targets=hparams.get("targets"),
            calendar=hparams.get("calendar") or (),
            future=hparams.get("future") or (),
            # Checkpoints from before the zone was kept: the offset of the last
            # training timestamp, if it had one.
            timezone=hparams["timezone"]
            if "timezone" in hparams
            else _zone_of(hparams.get("last_train_timestamp")),
            checkpoint=path,
        )
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        reason = str(err).strip().splitlines()[0][:300] if str(err).strip() else repr(err)
        raise CheckpointError(
            f"{path}: cannot rebuild the model from the checkpoint ({reason}); it may "
            "come from another version of stanhop"
        ) from err


def _zone_of(timestamp: str | None) -> str | None:
    """The time zone (a UTC offset) of an ISO timestamp, None without one."""
    zone = None if timestamp is None else pd.Timestamp(timestamp).tz
    return None if zone is None else str(zone)
