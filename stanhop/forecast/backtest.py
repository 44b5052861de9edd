"""Rolling-origin backtests: a trained model scored on every window of a history, beside
the training-free forecasts on the same windows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from stanhop.data import DataError, infer_freq
from stanhop.data.freq import season_length
from stanhop.forecast.forecaster import Forecaster
from stanhop.forecast.intervals import RecentCalibration
from stanhop.forecast.shift import flat_windows, warn_if_flat
from stanhop.forecast.windows import batches, origins, run_windows, window_errors
from stanhop.measures.baselines import persistence, seasonal_naive
from stanhop.measures.conformal import level_name, window_scale
from stanhop.model.targets import select

MODEL, SEASONAL_NAIVE, PERSISTENCE = "model", "seasonal_naive", "persistence"
METRICS = ("mse", "mae", "mse_orig", "mae_orig")


@dataclass(frozen=True)
class Backtest:
    """A backtest's results.

    ``windows``: one row per forecast origin, indexed by the timestamp of its first
    forecast step (``origin``), with ``end`` (its last step) and, for each forecast
    (``model``, ``seasonal_naive``, ``persistence``), ``<forecast>_<metric>`` for the
    metrics ``mse``, ``mae`` (standardised by the training data's per-series mean and
    standard deviation, like ``test/mse``) and ``mse_orig``, ``mae_orig`` (original
    units), each averaged over the window's steps and series; with intervals,
    ``coverage_<level>`` (the share of the window's values inside their interval).

    Only the forecaster's target series are scored (past covariates are inputs).

    ``summary``: one row per forecast, the metrics averaged over all windows (every
    window has as many values, so this is the mean over every forecast value).
    ``coverage``: level → (coverage over all windows, mean interval width, standardised).
    ``season``: the seasonal-naive season in steps, None when there is none.
    ``by_step``: one row per horizon step (1 … out_len), each forecast's MSE
    (standardised) at that step over every window and target series: how the error grows
    with the horizon.
    ``forecasts`` (only when asked for, else None): every window's forecast in long
    format, one row per window, step and target series: ``origin``, ``step`` (1 … out_len),
    ``timestamp``, ``series``, ``actual``, ``forecast`` (original units) and, with
    intervals, ``lo_<level>`` and ``hi_<level>``.
    """

    windows: pd.DataFrame
    summary: pd.DataFrame
    coverage: dict[float, tuple[float, float]]
    season: int | None
    by_step: pd.DataFrame
    forecasts: pd.DataFrame | None = None


def backtest(
    forecaster: Forecaster,
    history: pd.DataFrame,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    stride: int = 1,
    season: int | None = None,
    source: str | Path = "history",
    batch_size: int = 256,
    keep_forecasts: bool = False,
    recalibrate: int | None = None,
) -> Backtest:
    """Score ``forecaster`` on the windows of ``history`` (a frame of
    :meth:`Forecaster.read_history`, every row of the data) whose forecast lies within
    ``[start, end]``, one every ``stride`` steps.

    The seasonal-naive forecast repeats the last ``season`` steps of each input window
    (default: the season of the data's frequency, see
    :func:`~stanhop.data.freq.season_length`); it is left out when the season
    is unknown or longer than ``in_len``. Persistence repeats the last step. The model
    runs in fp32, as validation and test do in training.

    ``keep_forecasts`` also returns every window's forecast (:attr:`Backtest.forecasts`).

    ``recalibrate`` (a number of windows ``n``) draws each window's intervals from the
    model's errors on the ``n`` latest windows of ``history`` whose every forecast step
    lies before that window's first (as darts' conformal models do), instead of from the
    checkpoint's calibration: intervals that follow the model's recent errors, for a
    history later than the validation split. The levels are the checkpoint's (the default
    ones without); those ``n`` windows are too few to bound are left out.

    Raises :class:`~stanhop.data.DataError` for an irregular time index, for a range
    that holds no full window and for one whose first window has fewer than
    ``recalibrate`` windows before it.
    """
    in_len, out_len = forecaster.in_len, forecaster.out_len
    _check_regular(history.index, source)
    rows = origins(history.index, in_len, out_len, start, end, stride)
    if len(rows) == 0:
        raise DataError(_no_window(history.index, in_len, out_len, start, end, source))
    season = season or season_length(forecaster.freq or infer_freq(history.index))
    if season is not None and season > in_len:
        season = None
    values, known = forecaster.inputs(history, source)
    if recalibrate is not None and int(rows[0]) - out_len - recalibrate + 1 < in_len:
        raise DataError(_too_few_before(history.index, in_len, out_len, recalibrate, source))
    intervals = _Intervals(forecaster, values, known, rows, recalibrate, batch_size)
    tally = _Tally(forecaster, season, keep_forecasts)
    for chunk in batches(rows, batch_size):
        # inputs (b, in_len, c), targets and forecasts (b, out_len, k)
        x, y, pred = run_windows(
            forecaster.model, values, known, chunk, in_len, out_len, forecaster.target_indices
        )
        tally.add(chunk, x, y, pred, intervals)
    warn_if_flat(torch.cat(tally.flat).numpy(), forecaster.targets, source)
    return tally.result(history, rows, intervals.levels)


class _Intervals:
    """The half-widths of a backtest's intervals: from the checkpoint's calibration, or
    with ``recalibrate`` (a number of windows) from the model's errors on that many
    windows before each one scored (see
    :class:`~stanhop.forecast.intervals.RecentCalibration`)."""

    def __init__(
        self,
        forecaster: Forecaster,
        values: torch.Tensor,
        known: torch.Tensor | None,
        rows: np.ndarray,
        recalibrate: int | None,
        batch_size: int,
    ) -> None:
        self.calibration = calibration = forecaster.intervals
        self.levels = calibration.bounded_levels() if calibration else []
        self.recent: RecentCalibration | None = None
        if recalibrate is None:
            return
        in_len, out_len = forecaster.in_len, forecaster.out_len
        first = int(rows[0]) - out_len - recalibrate + 1  # the first calibration origin
        past = np.arange(first, int(rows[-1]) - out_len + 1)  # every calibration origin
        model, targets = forecaster.model, forecaster.target_indices
        errors, scales = window_errors(
            model, values, known, past, in_len, out_len, targets, batch_size
        )
        self.recent = RecentCalibration(errors, scales, first, recalibrate, model, calibration)
        self.levels = self.recent.levels

    def half_widths(self, rows: np.ndarray, scale: torch.Tensor) -> dict[float, torch.Tensor]:
        """The half-widths (b, out_len, k) of each level of the windows ``rows`` (b,), of
        RevIN scales ``scale`` (b, 1, k)."""
        if self.recent is None:
            return {level: self.calibration.scaled(level, scale) for level in self.levels}
        return self.recent.half_widths(rows, scale)


class _Tally:
    """What a backtest gathers chunk by chunk: each window's errors of every forecast,
    its interval coverage and width, the squared errors at each horizon step, which of
    its series are flat, and (``keep``) the forecasts and half-widths themselves."""

    def __init__(self, forecaster: Forecaster, season: int | None, keep: bool) -> None:
        self.forecaster, self.season, self.keep = forecaster, season, keep
        self.std = torch.as_tensor(forecaster.target_scaler.std, dtype=torch.float64)
        self.columns: dict[str, list[np.ndarray]] = {}
        self.step_sums: dict[str, torch.Tensor] = {}  # summed squared error per horizon step
        self.kept: list[torch.Tensor] = []  # the standardised forecasts of each chunk
        self.radii: dict[float, list[torch.Tensor]] = {}  # and their half-widths
        self.flat: list[torch.Tensor] = []  # which target series of each window are flat
        self.k = 0  # the number of target series

    def add(
        self,
        rows: np.ndarray,
        x: torch.Tensor,
        y: torch.Tensor,
        pred: torch.Tensor,
        intervals: _Intervals,
    ) -> None:
        """Score the windows whose forecasts start at ``rows`` (b,): inputs ``x`` (b,
        in_len, c), targets ``y`` and the model's forecasts ``pred`` (b, out_len, k)."""
        out_len, self.k = y.shape[1], y.shape[-1]
        # The baselines forecast the targets from their own history.
        x_targets = select(x, self.forecaster.target_indices)  # (b, in_len, k)
        forecasts = {MODEL: pred, PERSISTENCE: persistence(x_targets, out_len)}
        if self.season is not None:
            forecasts[SEASONAL_NAIVE] = seasonal_naive(x_targets, out_len, self.season)
        for name, forecast in forecasts.items():
            err = (forecast - y).double()  # (b, out_len, c)
            squared = (err**2).sum(dim=(0, 2))  # (out_len,)
            sums = self.step_sums
            sums[name] = sums[name] + squared if name in sums else squared
            for metric, value in _window_errors(err, self.std).items():
                self.columns.setdefault(f"{name}_{metric}", []).append(value)
        if self.keep:
            self.kept.append(pred)
        scale = window_scale(self.forecaster.model, x)  # (b, 1, k)
        self.flat.append(flat_windows(self.forecaster.model, self.forecaster.intervals, scale))
        for level, r in intervals.half_widths(rows, scale).items():  # r: (b, out_len, k)
            if self.keep:
                self.radii.setdefault(level, []).append(r)
            inside = ((pred - y).abs() <= r).double().mean(dim=(1, 2))
            self.columns.setdefault(f"coverage_{level_name(level)}", []).append(inside.numpy())
            self.columns.setdefault(f"width_{level_name(level)}", []).append(
                2 * r.double().mean(dim=(1, 2)).numpy()
            )

    def result(self, history: pd.DataFrame, rows: np.ndarray, levels: list[float]) -> Backtest:
        """The :class:`Backtest` of the windows starting at ``rows`` of ``history``."""
        out_len = self.forecaster.out_len
        windows = pd.DataFrame(
            {name: np.concatenate(parts) for name, parts in self.columns.items()},
            index=pd.Index(history.index[rows], name="origin"),
        )
        windows.insert(0, "end", history.index[rows + out_len - 1])
        names = [n for n in (MODEL, SEASONAL_NAIVE, PERSISTENCE) if f"{n}_mse" in windows]
        summary = pd.DataFrame(
            [[windows[f"{n}_{m}"].mean() for m in METRICS] for n in names],
            index=pd.Index(names, name="forecast"),
            columns=list(METRICS),
        )
        coverage = {
            lv: (
                float(windows[f"coverage_{level_name(lv)}"].mean()),
                float(windows.pop(f"width_{level_name(lv)}").mean()),
            )
            for lv in levels
        }
        forecasts = None
        if self.keep:
            pred = torch.cat(self.kept).double().numpy()
            radius = {lv: torch.cat(self.radii[lv]).double().numpy() for lv in levels}
            forecasts = _long_forecasts(self.forecaster, history, rows, pred, radius)
        n_values = len(rows) * self.k  # windows × target series, at every step
        by_step = pd.DataFrame(
            {name: (self.step_sums[name] / n_values).numpy() for name in names},
            index=pd.RangeIndex(1, out_len + 1, name="step"),
        )
        return Backtest(windows, summary, coverage, self.season, by_step, forecasts)


def _long_forecasts(
    forecaster: Forecaster,
    history: pd.DataFrame,
    rows: np.ndarray,
    pred: np.ndarray,
    radius: dict[float, np.ndarray],
) -> pd.DataFrame:
    """The long table of :attr:`Backtest.forecasts` from the standardised forecasts
    ``pred`` (windows, out_len, k) of the windows starting at ``rows`` of ``history``."""
    n, out_len, k = pred.shape
    scaler = forecaster.target_scaler
    step = np.arange(out_len)
    at = (rows[:, None] + step).repeat(k, axis=1).ravel()  # (n · out_len · k,)
    actual = history[forecaster.targets].to_numpy(np.float64)  # as given, not round-tripped
    table = {
        "origin": np.repeat(history.index[rows], out_len * k),
        "step": np.tile(np.repeat(step + 1, k), n),
        "timestamp": history.index[at],
        "series": np.tile(forecaster.targets, n * out_len),
        "actual": actual[(rows[:, None] + step).ravel()].ravel(),
        "forecast": scaler.inverse_transform(pred).ravel(),
    }
    for level, r in radius.items():
        half = r * scaler.std  # (n, out_len, k), original units
        table[f"lo_{level_name(level)}"] = (table["forecast"].reshape(pred.shape) - half).ravel()
        table[f"hi_{level_name(level)}"] = (table["forecast"].reshape(pred.shape) + half).ravel()
    return pd.DataFrame(table)


def _window_errors(err: torch.Tensor, std: torch.Tensor) -> dict[str, np.ndarray]:
    """Per-window MSE and MAE of standardised errors ``err`` (b, out_len, k), and of the
    same errors in original units (times each target's training ``std`` (k,))."""
    orig = err * std
    return {
        "mse": (err**2).mean(dim=(1, 2)).numpy(),
        "mae": err.abs().mean(dim=(1, 2)).numpy(),
        "mse_orig": (orig**2).mean(dim=(1, 2)).numpy(),
        "mae_orig": orig.abs().mean(dim=(1, 2)).numpy(),
    }


def _check_regular(index: pd.DatetimeIndex, source: str | Path) -> None:
    """Windows must be consecutive steps: refuse an index with gaps or uneven steps."""
    if len(index) < 3 or infer_freq(index) is not None:
        return
    steps = index.to_series().diff().iloc[1:]
    usual = steps.mode().iloc[0]
    odd = steps[steps != usual].index[0]
    before = index[index.get_loc(odd) - 1]
    raise DataError(
        f"{source}: the timestamps are irregular: {before} is followed by {odd}, while most "
        f"steps are {usual}; windows would span the gap, so resample the data to one "
        "regular step first (e.g. pandas' DataFrame.resample(...).interpolate())"
    )


def _too_few_before(
    index: pd.DatetimeIndex, in_len: int, out_len: int, windows: int, source: str | Path
) -> str:
    earliest = in_len + out_len + windows - 1  # the first row a window can start from
    if earliest + out_len > len(index):
        return (
            f"{source}: recalibrating on {windows} windows needs in_len + out_len + {windows} "
            f"- 1 + out_len = {earliest + out_len} rows, the data has {len(index)}; "
            "recalibrate on fewer windows or give a longer history"
        )
    return (
        f"{source}: recalibrating on the {windows} windows before each one scored needs "
        f"the first scored forecast at {index[earliest]} or later; pass --start "
        f"'{index[earliest]}', or recalibrate on fewer windows"
    )


def _no_window(
    index: pd.DatetimeIndex,
    in_len: int,
    out_len: int,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    source: str | Path,
) -> str:
    needed = in_len + out_len
    if start is None and end is None:
        return (
            f"{source}: {len(index)} rows, but a backtest window needs {needed}: in_len="
            f"{in_len} rows read and the out_len={out_len} after them scored; give at least "
            f"{needed} rows ({needed - len(index)} more)"
        )
    where = f"between {start or index[0]} and {end or index[-1]}"
    return (
        f"{source}: no full window to evaluate {where}: a window needs in_len={in_len} rows "
        f"of history before the range's start and out_len={out_len} forecast rows inside it "
        f"({needed} rows in all); the data runs from {index[0]} to {index[-1]} "
        f"({len(index)} rows), so widen --start/--end or give a longer history"
    )
