"""The per-tap outlier table as files a person reads: ``outliers.csv`` and
``outliers.png``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

from stanhop.files.atomic import atomic_open

KIND_COLOURS = {
    "hopfield": "tab:red",
    "mlp": "tab:blue",
    "layernorm": "tab:green",
    "residual": "tab:grey",
}
OTHER_COLOUR = "black"


def outlier_figure(rows: list[dict[str, object]]) -> Figure:
    """Kurtosis and infinity norm of every tap as two bar charts, one bar per tap in
    model order, coloured by kind of tap."""
    frame = pd.DataFrame(rows)
    colours = [KIND_COLOURS.get(kind, OTHER_COLOUR) for kind in frame["kind"]]
    height = max(4.0, 0.16 * len(frame) + 1.5)
    # A bare Figure draws with Agg and leaves the user's pyplot backend alone.
    fig = Figure(figsize=(13, height))
    axes = fig.subplots(1, 2, sharey=True)
    titles = {"kurtosis": "kurtosis (Gaussian ≈ 3)", "inf_norm": "infinity norm max|x|"}
    for ax, (stat, title) in zip(axes, titles.items(), strict=True):
        ax.barh(frame["tap"], frame[stat], color=colours)
        ax.set_title(title)
        ax.grid(axis="x", alpha=0.3)
    axes[1].set_xscale("log")  # outlier norms span orders of magnitude
    # Over less than a decade Matplotlib labels the minor ticks too, and the labels
    # overlap: label 1-2-5 steps in plain numbers and leave the minor ticks unlabelled.
    axes[1].xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axes[1].xaxis.set_major_formatter(ScalarFormatter())
    axes[1].xaxis.set_minor_formatter(NullFormatter())
    axes[0].invert_yaxis()
    axes[0].tick_params(axis="y", labelsize=6)
    handles = [Patch(color=colour) for colour in KIND_COLOURS.values()]
    fig.legend(handles, list(KIND_COLOURS), loc="upper right", ncols=len(KIND_COLOURS))
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


def plot_outliers(rows: list[dict[str, object]], path: Path) -> None:
    """:func:`outlier_figure` as a PNG at ``path``."""
    with atomic_open(path, "wb") as f:
        outlier_figure(rows).savefig(f, dpi=110, format="png")


def write_outlier_files(rows: list[dict[str, object]], output_dir: Path) -> None:
    """``outliers.csv`` (one row per tap) and ``outliers.png`` in ``output_dir``."""
    output_dir.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows)
    with atomic_open(output_dir / "outliers.csv", "w", newline="") as f:
        frame.to_csv(f, index=False)
    plot_outliers(rows, output_dir / "outliers.png")
