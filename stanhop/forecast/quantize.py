"""A forecaster's model in integers: the real int8 model (:mod:`stanhop.measures.int8`),
saved beside its checkpoint, or the simulated-integer copy of the quantisation
evaluation (:class:`~stanhop.measures.fake_quant.SimulatedQuantModel`). Both are
calibrated on windows of a history, the int8 one on its training split only."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from stanhop.forecast.errors import ForecastError

# --quantize's name of the real integer model (the others are simulated bit widths, W8A8).
INT8 = "int8"
# How many windows of the history calibrate a quantized model's activation ranges.
CALIBRATION_WINDOWS = 512

# The calibration batches of a history (see stanhop.forecast.windows.input_batches).
Batches = list[torch.Tensor | tuple[torch.Tensor, torch.Tensor]]


def int8_file(checkpoint: Path | None) -> Path | None:
    """Where the integer model of ``checkpoint`` is saved (beside it); None for a model
    not loaded from a file."""
    if checkpoint is None:
        return None
    from stanhop.measures.int8 import SUFFIX

    return checkpoint.with_name(checkpoint.stem + SUFFIX)


def saved_int8(checkpoint: Path | None) -> Path | None:
    """The saved integer model of ``checkpoint`` when it is at least as new as the
    checkpoint (a checkpoint written again makes it stale), else None."""
    path = int8_file(checkpoint)
    if path is None or not path.is_file():
        return None
    return path if path.stat().st_mtime >= checkpoint.stat().st_mtime else None


def training_rows(
    history: pd.DataFrame, last_train_timestamp: str | None, window: int, name: str
) -> pd.DataFrame:
    """The rows of ``history`` up to the end of the training split
    (``last_train_timestamp``); a one-line :class:`ForecastError` when the checkpoint
    ``name`` does not record it or ``history`` holds fewer than one ``window`` (in_len +
    out_len rows) of them."""
    if last_train_timestamp is None:
        raise ForecastError(
            f"{name}: the checkpoint does not record where its training split "
            "ended, so calibration cannot keep to it; train the model again"
        )
    end = pd.Timestamp(last_train_timestamp)
    if history.index.tz is not None and end.tz is None:
        end = end.tz_localize(history.index.tz)
    elif history.index.tz is None and end.tz is not None:
        end = end.tz_localize(None)
    rows = history.loc[history.index <= end]
    if len(rows) < window:
        raise ForecastError(
            f"calibration reads the training split only (up to {end}), and the history "
            f"holds {len(rows)} rows of it, fewer than one window (in_len + out_len = "
            f"{window}); give the history the model was trained on"
        )
    return rows


def int8_model(
    model: nn.Module,
    checkpoint: Path | None,
    name: str,
    batches: Callable[[], Batches] | None,
) -> nn.Module:
    """The integer copy of ``model``: loaded from beside ``checkpoint`` while it is not
    stale, else calibrated on ``batches()`` (None: no history to calibrate on, an error)
    and saved there (in a temporary folder for a model in memory)."""
    from stanhop.measures.int8 import SUFFIX, Int8Error, load_int8, quantize_int8

    try:
        saved = saved_int8(checkpoint)
        if saved is not None:
            return load_int8(saved, model)
        if batches is None:
            raise ForecastError(
                f"{name}: no saved int8 model beside it, and no history to calibrate "
                "one on; give the history the model was trained on"
            )
        calibration = batches()
        path = int8_file(checkpoint)
        if path is None:  # a model in memory: its package lives as long as the process
            path = Path(tempfile.mkdtemp(prefix="stanhop-int8-")) / f"model{SUFFIX}"
        return quantize_int8(model, calibration, path)
    except Int8Error as err:
        raise ForecastError(f"{name}: {err}") from err


def quantized_model(
    model: nn.Module,
    bits: str,
    estimator: str,
    checkpoint: Path | None,
    name: str,
    history: pd.DataFrame | None,
    batches: Callable[[pd.DataFrame], Batches],
    training: Callable[[pd.DataFrame], pd.DataFrame],
) -> tuple[nn.Module, str]:
    """The integer copy of ``model`` at ``bits`` and its label: for :data:`INT8` the
    real one (see :func:`int8_model`), calibrated on the ``batches`` of the rows of
    ``history`` that ``training`` keeps; else the simulated one, calibrated on the
    ``batches`` of ``history`` with the range ``estimator``."""
    if bits.lower() == INT8:
        calibration = None if history is None else lambda: batches(training(history))
        return int8_model(model, checkpoint, name, calibration), INT8
    # Imported here: the quantisation backend is slow to import and most forecasts
    # never need it.
    from stanhop.measures import SimulatedQuantModel

    if history is None:
        raise ForecastError(f"--quantize {bits}: calibration needs a history")
    simulated = SimulatedQuantModel(model, bits, estimator)
    simulated.calibrate(batches(history))
    return simulated, f"simulated {simulated.bits.name}"
