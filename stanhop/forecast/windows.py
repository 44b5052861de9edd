"""The windows a forecaster reads: the last one of a history, forecast in original
units, and those it is scored and calibrated on (where their forecasts start, the model
run on them in batches). Forecasts, backtests, recalibration and quantisation all cut
their windows here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from stanhop.data import DataError, Scaler
from stanhop.data.windows import cut_windows, window_starts
from stanhop.forecast.errors import ForecastError
from stanhop.measures.conformal import window_scale
from stanhop.model.targets import select


def origins(
    index: pd.DatetimeIndex,
    in_len: int,
    out_len: int,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    stride: int = 1,
) -> np.ndarray:
    """The rows ``o`` where a window's forecast starts: ``in_len`` rows before it, the
    ``out_len`` forecast rows ``o … o + out_len - 1`` inside the data and inside
    ``[start, end]``, every ``stride``-th from the first."""
    if stride < 1:
        raise ValueError(f"the stride must be a whole number of steps >= 1, got {stride}")
    first = in_len
    if start is not None:
        first = max(first, int(index.searchsorted(start, side="left")))
    stop = len(index) - out_len  # the last origin whose forecast fits in the data
    if end is not None:
        stop = min(stop, int(index.searchsorted(end, side="right")) - out_len)
    return np.arange(first, stop + 1, stride)


def latest_origins(
    rows: int, in_len: int, out_len: int, windows: int, source: str | Path
) -> np.ndarray:
    """The first forecast rows of the ``windows`` latest windows of a history of ``rows``
    rows whose forecast lies inside it (a recalibration's windows); a one-line error
    when there are fewer."""
    if windows < 1:
        raise ForecastError(f"recalibrate on at least 1 window, got {windows}")
    needed = in_len + out_len + windows - 1
    if rows < needed:
        raise DataError(
            f"{source}: {rows} rows of history, but recalibrating on {windows} "
            f"windows needs in_len + out_len + {windows} - 1 = {needed}; give a longer "
            "history or recalibrate on fewer windows"
        )
    last = rows - out_len  # the first forecast row of the latest window
    return np.arange(last - windows + 1, last + 1)


def batches(rows: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """``rows`` in consecutive chunks of at most ``batch_size``, as even as they split."""
    yield from np.array_split(rows, max(1, -(-len(rows) // batch_size)))


def forecast_window(
    model: nn.Module,
    scaler: Scaler,
    target_scaler: Scaler,
    window: np.ndarray,
    known: np.ndarray | None = None,
    *,
    bf16: bool = False,
) -> np.ndarray:
    """One window ``window`` (in_len, c) in original units [and its known-future input
    ``known`` (out_len, f)] → the forecast (out_len, k) of the targets in original units,
    float64; ``scaler`` standardises the inputs and ``target_scaler`` the targets, and
    ``bf16`` runs the matrix products under bf16 autocast."""
    device = next(model.parameters()).device
    x = torch.as_tensor(scaler.transform(window), dtype=torch.float32, device=device)
    extra = (
        [] if known is None else [torch.as_tensor(known, dtype=torch.float32, device=device)[None]]
    )
    with (
        torch.inference_mode(),
        torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16),
    ):
        y = model(x[None], *extra)[0]  # (1, in_len, c) → (out_len, k)
    return target_scaler.inverse_transform(y.to("cpu", torch.float64).numpy())


def run_windows(
    model: nn.Module,
    values: torch.Tensor,
    known: torch.Tensor | None,
    rows: np.ndarray,
    in_len: int,
    out_len: int,
    targets: list[int] | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The windows of ``values`` (t, c) whose first forecast rows are ``rows`` (b,):
    their inputs (b, in_len, c), targets (b, out_len, k: the columns ``targets``, all for
    None) and the model's forecasts (b, out_len, k), standardised, in fp32 as validation
    runs; ``known`` (t, f) is the known-future input of each row (None without)."""
    device = next(model.parameters()).device
    x = cut_windows(values, rows - in_len, in_len)
    y = select(cut_windows(values, rows, out_len), targets)
    with torch.inference_mode(), torch.autocast(device.type, enabled=False):
        extra = [] if known is None else [cut_windows(known, rows, out_len).to(device)]
        return x, y, model(x.to(device), *extra).float().cpu()


def window_errors(
    model: nn.Module,
    values: torch.Tensor,
    known: torch.Tensor | None,
    rows: np.ndarray,
    in_len: int,
    out_len: int,
    targets: list[int] | None,
    batch_size: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """The model's absolute errors (n, out_len, k) on the windows whose first forecast
    rows are ``rows`` (n,), standardised, and each window's RevIN scale (n, k); the
    other arguments as for :func:`run_windows`."""
    errors, scales = [], []
    for chunk in batches(rows, batch_size):
        x, y, pred = run_windows(model, values, known, chunk, in_len, out_len, targets)
        errors.append((pred - y).abs().double().numpy())
        scales.append(window_scale(model, x)[:, 0].double().numpy())
    return np.concatenate(errors), np.concatenate(scales)


def input_batches(
    model: nn.Module,
    values: torch.Tensor,
    known: torch.Tensor | None,
    in_len: int,
    out_len: int,
    max_windows: int,
) -> list[torch.Tensor | tuple[torch.Tensor, torch.Tensor]]:
    """The model's inputs on the last ``max_windows`` windows of ``values`` (t, c), in
    batches of 32, on the model's device: ``x`` (b, in_len, c), with the known-future
    input (b, out_len, f) for a model that takes ``known`` (t, f; then only windows whose
    horizon lies in ``values``)."""
    horizon = 0 if known is None else out_len
    starts = window_starts(len(values), in_len + horizon)[-max_windows:]
    device = next(model.parameters()).device
    windows = cut_windows(values, starts, in_len).split(32)  # (b, in_len, c) each
    if known is None:
        return [x.to(device) for x in windows]
    ahead = cut_windows(known, starts + in_len, out_len)
    return [(x.to(device), f.to(device)) for x, f in zip(windows, ahead.split(32), strict=True)]
