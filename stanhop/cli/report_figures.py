"""The report's figures: bar charts of the summary, per-epoch curves of the outlier
metrics, and the tap × variant heat map. Bare ``Figure`` objects draw with Agg and leave
the user's pyplot backend alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from stanhop.files.atomic import atomic_open

CURVES = {
    "val/mse": "validation MSE",
    "val_outliers/max_inf_norm": "max infinity norm",
    "val_outliers/avg_kurtosis": "average kurtosis",
}
HEAT = {"kurtosis": "kurtosis", "inf_norm": "infinity norm"}


def _save(fig: Figure, path: Path) -> None:
    with atomic_open(path, "wb") as f:
        fig.savefig(f, dpi=100, format="png")


def variant_styles(variants: list[str]) -> dict[str, dict[str, object]]:
    """A colour per variant, and dashed lines for the softmax₁ (OutEffHop) ones, so each
    OutEffHop variant reads as the counterpart of the softmax variant beside it."""
    colours = [f"C{i}" for i in range(10)]
    bases = list(
        dict.fromkeys(v.removesuffix("outeffhop").strip("_") or "softmax" for v in variants)
    )
    styles = {}
    for variant in variants:
        base = variant.removesuffix("outeffhop").strip("_") or "softmax"
        styles[variant] = {
            "color": colours[bases.index(base) % len(colours)],
            "linestyle": "--" if variant.endswith("outeffhop") else "-",
        }
    return styles


def plot_bars(summary: pd.DataFrame, titles: dict[str, str], title: str, path: Path) -> None:
    """One bar chart per metric: mean per variant with the std over runs as error bar."""
    titles = {key: name for key, name in titles.items() if (key, "mean") in summary}
    fig = Figure(figsize=(2.8 * len(titles), 3.6))
    axes = fig.subplots(1, len(titles), squeeze=False)[0]
    for ax, (key, name) in zip(axes, titles.items(), strict=True):
        ax.bar(
            summary.index,
            summary[(key, "mean")],
            yerr=summary[(key, "std")].fillna(0),
            capsize=3,
            color="tab:blue",
        )
        ax.set_title(name, fontsize=9)
        ax.tick_params(axis="x", rotation=60, labelsize=7)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def plot_curves(history: pd.DataFrame, title: str, path: Path) -> None:
    """Validation MSE, max infinity norm and average kurtosis after every epoch, one
    line per variant (mean over runs) with a band from the lowest to the highest run.

    ``history``: long, with ``variant``, ``run``, ``epoch`` (Lightning's, from 0) and
    the metrics of :data:`CURVES` it holds."""
    metrics = {key: name for key, name in CURVES.items() if key in history}
    variants = list(dict.fromkeys(history["variant"]))
    styles = variant_styles(variants)
    fig = Figure(figsize=(4.2 * len(metrics), 3.8))
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, (key, name) in zip(axes, metrics.items(), strict=True):
        for variant in variants:
            per_epoch = history[history["variant"] == variant].groupby("epoch")[key]
            epochs = per_epoch.mean().index + 1
            ax.plot(epochs, per_epoch.mean(), label=variant, linewidth=1.5, **styles[variant])
            ax.fill_between(
                epochs, per_epoch.min(), per_epoch.max(), color=styles[variant]["color"], alpha=0.12
            )
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("epochs trained")
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[0].legend(fontsize=7)
    runs = history.groupby("variant")["run"].nunique()
    fig.suptitle(
        f"{title}: mean over runs ({runs.min()}–{runs.max()} per variant), band = lowest to "
        "highest run",
        fontsize=10,
    )
    fig.tight_layout()
    _save(fig, path)


def _block_of(tap: str) -> str:
    """``encoder.3.block.cross`` → ``encoder.3``; ``embed_norm`` → ``embed_norm``."""
    parts = tap.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 and parts[1].isdigit() else parts[0]


def relative_to_baseline(taps: pd.DataFrame, baseline: str, stat: str) -> pd.DataFrame:
    """variant × tap (model order): the mean over runs of ``stat`` at each tap divided by
    the baseline's mean there; the baseline's own row left out."""
    order = taps[taps["variant"] == baseline].groupby("tap")["order"].min().sort_values().index
    means = taps.groupby(["variant", "tap"])[stat].mean().unstack("tap").reindex(columns=order)
    variants = [v for v in dict.fromkeys(taps["variant"]) if v != baseline]
    return means.loc[variants] / means.loc[baseline]


def plot_heatmap(taps: pd.DataFrame, baseline: str, title: str, path: Path) -> None:
    """Per variant and tap, kurtosis and infinity norm on the test split relative to the
    baseline's (log₂ of the ratio: red above, blue below), taps in model order.

    ``taps``: every run's ``outliers.csv`` rows with ``variant`` and ``order``."""
    ratios = {stat: relative_to_baseline(taps, baseline, stat) for stat in HEAT}
    n_variants, n_taps = ratios["kurtosis"].shape
    # Constrained layout places the colour bars; tight_layout cannot.
    fig = Figure(
        figsize=(max(8.0, 0.035 * n_taps + 2.5), 1.6 + 0.9 * n_variants), layout="constrained"
    )
    axes = fig.subplots(2, 1, sharex=True)
    for ax, (stat, name) in zip(axes, HEAT.items(), strict=True):
        log_ratio = np.log2(ratios[stat].to_numpy(dtype=float))
        bound = max(float(np.nanmax(np.abs(log_ratio))), np.log2(1.05))
        image = ax.imshow(
            log_ratio,
            aspect="auto",
            cmap="RdBu_r",
            norm=TwoSlopeNorm(0.0, -bound, bound),
            interpolation="nearest",
        )
        ax.set_yticks(range(n_variants), ratios[stat].index, fontsize=7)
        ax.set_title(f"{name} relative to {baseline}", fontsize=9)
        bar = fig.colorbar(image, ax=ax, pad=0.01, fraction=0.03)
        bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"×{2**v:.3g}"))
        bar.ax.tick_params(labelsize=7)
    blocks = [_block_of(tap) for tap in ratios["kurtosis"].columns]
    starts = [i for i, block in enumerate(blocks) if i == 0 or block != blocks[i - 1]]
    # A block of one or two taps (the embedding's LayerNorm) would crowd its neighbour's label.
    labelled = [i for i, j in zip(starts, [*starts[1:], len(blocks)], strict=True) if j - i > 2]
    axes[-1].set_xticks(labelled, [blocks[i] for i in labelled], rotation=90, fontsize=6)
    for ax in axes:
        for start in starts[1:]:
            ax.axvline(start - 0.5, color="white", linewidth=0.4)
    axes[-1].set_xlabel("tap (model order; the first tap of each block labelled)")
    runs = taps.groupby("variant")["run"].nunique()
    fig.suptitle(
        f"{title}: test split, mean over runs ({runs.min()}–{runs.max()} per variant)",
        fontsize=10,
    )
    _save(fig, path)
