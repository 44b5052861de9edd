"""Plots of a forecast: small multiples, one panel per series, history then forecast.

Drawn on a bare ``matplotlib.figure.Figure``, so nothing here touches pyplot's global
state or needs a display.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from stanhop.files.atomic import atomic_open
from stanhop.forecast.errors import ForecastError
from stanhop.forecast.files import writing
from stanhop.forecast.intervals import interval_levels

# More panels than this are too small to read; the CSV output holds every series.
MAX_PANELS = 16


def plot_forecast(
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    max_panels: int = MAX_PANELS,
    title: str | None = None,
) -> Figure:
    """A figure with one panel for each of the first ``max_panels`` series of
    ``forecast``: the recent ``history`` (e.g. the rows the model read) and the forecast
    after it, shaded by its prediction intervals when ``forecast`` has their columns
    (``SERIES_lo_80``, ``SERIES_hi_80``, …, as :meth:`Forecaster.predict` adds them).
    When series are left out, the figure says how many."""
    series = [c for c in forecast.columns if c in history.columns]
    shown = series[:max_panels]
    ncols = min(len(shown), 1 if len(shown) == 1 else 2 if len(shown) <= 4 else 4)
    nrows = math.ceil(len(shown) / ncols)
    fig = Figure(figsize=(4.0 * ncols, 2.2 * nrows + 0.9), layout="constrained")
    axes = fig.subplots(nrows, ncols, sharex=True, squeeze=False).ravel()
    for ax, name in zip(axes, shown, strict=False):
        past = history[name]
        # The forecast line starts at the last observation, so the two lines join.
        future = pd.concat([past.iloc[-1:], forecast[name]])
        ax.plot(past.index, past.to_numpy(), color="C0", lw=1.0, label="history")
        levels = interval_levels(forecast, name)
        for i, level in enumerate(levels):
            # Wider (higher-level) bands lighter, so the narrower ones stay visible on top.
            alpha = 0.45 - 0.3 * i / max(len(levels) - 1, 1)
            lo, hi = forecast[f"{name}_lo_{level}"], forecast[f"{name}_hi_{level}"]
            ax.fill_between(
                lo.index,
                lo.to_numpy(),
                hi.to_numpy(),
                color="C1",
                alpha=alpha,
                lw=0,
                label=f"{level}% interval",
            )
        ax.plot(future.index, future.to_numpy(), color="C1", lw=1.4, label="forecast")
        ax.axvline(past.index[-1], color="0.6", ls="--", lw=0.8)
        ax.set_title(str(name), fontsize=9)
        ax.tick_params(labelsize=7)
        locator = AutoDateLocator(minticks=3, maxticks=6)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    for ax in axes[len(shown) :]:
        ax.set_visible(False)
    # Shared x axes label only the bottom row; a panel above an empty slot needs its own.
    for ax in axes[max(len(shown) - ncols, 0) : len(shown)]:
        ax.tick_params(labelbottom=True)
    axes[0].legend(fontsize=7, loc="upper left")
    if title:
        fig.suptitle(title, fontsize=10)
    omitted = len(series) - len(shown)
    if omitted:
        fig.supxlabel(
            f"showing the first {len(shown)} of {len(series)} series "
            f"({omitted} not shown); the forecast CSV holds all of them",
            fontsize=8,
        )
    return fig


def plot_error_by_step(by_step: pd.DataFrame, title: str | None = None) -> Figure:
    """A figure of each forecast's MSE at every horizon step (``by_step``: one row per
    step, one column per forecast, as :attr:`~stanhop.forecast.backtest.Backtest.by_step`
    holds them)."""
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.add_subplot()
    labels = {"model": "model", "seasonal_naive": "seasonal naive", "persistence": "persistence"}
    for name, errors in by_step.items():
        ax.plot(by_step.index, errors, marker=".", label=labels.get(str(name), str(name)))
    ax.set_xlabel("horizon step")
    ax.set_ylabel("MSE (standardised)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return fig


def plot_format(path: Path) -> str:
    """The image format of ``path``, from its suffix (``png``, ``pdf``, ``svg``, …)."""
    supported = FigureCanvasBase.get_supported_filetypes()
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in supported:
        raise ForecastError(
            f"{path}: cannot tell the image format from {path.suffix or 'no suffix'!r}; end "
            "the file name with .png, .pdf or .svg"
        )
    return fmt


def save_figure(fig: Figure, path: Path, dpi: int = 110) -> None:
    """Write ``fig`` to ``path`` atomically, in the format of its suffix."""
    fmt = plot_format(path)
    with writing(path), atomic_open(path, "wb") as f:
        fig.savefig(f, format=fmt, dpi=dpi)
