"""Compare runs:
``python -m stanhop.evaluation.report DIR... [-o OUT] [--bits W8A8] [--baseline softmax]``.

Reads the ``metrics.json`` and ``config.yaml`` of every run found under the given folders
(a Hydra multirun folder included), groups runs by variant (the ``hopfield=`` option for
STanHop-Net, the model name for other models), and writes ``report.md`` — mean ± std
over seeds of test MSE, quantised MSE and its ratio to float, average kurtosis and
maximum infinity norm, with each variant's relative change against the baseline — and
``report.png`` with the same numbers as bar charts.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from omegaconf import OmegaConf

from stanhop.evaluation.bits import BitWidths
from stanhop.files.atomic import atomic_open


class ReportError(ValueError):
    """A report that cannot be made, in one line."""


def columns_for(bits: BitWidths) -> dict[str, str]:
    """metric key → column title."""
    return {
        "test/mse": "test MSE",
        f"quant/{bits.name}/mse": f"{bits.name.upper()} MSE",
        f"quant/{bits.name}/mse_ratio": f"{bits.name.upper()} / float MSE",
        "outliers/avg_kurtosis": "avg kurtosis",
        "outliers/max_inf_norm": "max inf-norm",
    }


def variant_of(config: dict) -> str:
    model = config.get("model", {})
    if model.get("name", "stanhop") != "stanhop":
        return str(model["name"])
    return str(model.get("hopfield", {}).get("name") or config.get("hopfield", {}).get("name"))


def load_runs(dirs: Sequence[Path]) -> pd.DataFrame:
    """One row per run: ``variant``, ``seed``, ``run`` (its folder) and every metric."""
    rows = []
    for root in dirs:
        if not root.exists():
            raise ReportError(f"{root} does not exist; give run or multirun folders")
        for metrics_path in sorted(root.rglob("metrics.json")):
            config_path = metrics_path.with_name("config.yaml")
            if not config_path.is_file():
                raise ReportError(
                    f"{metrics_path} has no config.yaml beside it; was it written by train.py?"
                )
            config = OmegaConf.to_container(OmegaConf.load(config_path), resolve=False)
            metrics = json.loads(metrics_path.read_text())
            rows.append(
                {
                    "variant": variant_of(config),
                    "seed": config.get("seed"),
                    "run": str(metrics_path.parent),
                    **metrics,
                }
            )
    if not rows:
        raise ReportError(
            f"no metrics.json under {', '.join(map(str, dirs))}; point at finished runs"
        )
    return pd.DataFrame(rows)


def summarise(runs: pd.DataFrame, bits: BitWidths, baseline: str) -> pd.DataFrame:
    """Per variant: run count, mean and std (over seeds) of every metric, and the relative
    change of the mean against ``baseline`` (absent when the baseline was not run)."""
    metrics = [key for key in columns_for(bits) if key in runs]
    grouped = runs.groupby("variant", sort=False)[metrics]
    summary = pd.concat({"mean": grouped.mean(), "std": grouped.std(ddof=1)}, axis=1).swaplevel(
        axis=1
    )
    summary[("runs", "n")] = runs.groupby("variant", sort=False).size()
    if baseline in summary.index:
        for key in metrics:
            base = summary.loc[baseline, (key, "mean")]
            summary[(key, "change")] = (summary[(key, "mean")] - base) / abs(base)
    return summary


def _cell(mean: float, std: float) -> str:
    if pd.isna(mean):
        return "—"
    return f"{mean:.4g}" if pd.isna(std) else f"{mean:.4g} ± {std:.2g}"


def to_markdown(summary: pd.DataFrame, bits: BitWidths, baseline: str) -> str:
    titles = {key: title for key, title in columns_for(bits).items() if key in summary}
    header = ["variant", "runs", *titles.values()]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for variant, row in summary.iterrows():
        cells = [str(variant), str(int(row[("runs", "n")]))]
        for key in titles:
            cell = _cell(row[(key, "mean")], row[(key, "std")])
            if (key, "change") in row and variant != baseline:
                cell += f" ({row[(key, 'change')]:+.1%})"
            cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    note = (
        f"Mean ± sample std over runs (seeds); in brackets the change of the mean against "
        f"`{baseline}`."
        if baseline in summary.index
        else f"Mean ± sample std over runs (seeds); `{baseline}` was not run, so no changes."
    )
    return "\n".join(lines) + "\n\n" + note + "\n"


def plot(summary: pd.DataFrame, bits: BitWidths, path: Path) -> None:
    titles = {key: title for key, title in columns_for(bits).items() if key in summary}
    fig = Figure(figsize=(3.2 * len(titles), 3.6))
    axes = fig.subplots(1, len(titles), squeeze=False)[0]
    for ax, (key, title) in zip(axes, titles.items(), strict=True):
        ax.bar(
            summary.index,
            summary[(key, "mean")],
            yerr=summary[(key, "std")].fillna(0),
            capsize=3,
            color="tab:blue",
        )
        ax.set_title(title)
        ax.tick_params(axis="x", rotation=60, labelsize=8)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    with atomic_open(path, "wb") as f:
        fig.savefig(f, dpi=110, format="png")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stanhop.evaluation.report", description=__doc__
    )
    parser.add_argument("dirs", nargs="+", type=Path, help="run or multirun folders")
    parser.add_argument("-o", "--output", type=Path, help="folder for report.md/png")
    parser.add_argument("--bits", default="W8A8", help="quantised columns to show (W8A8)")
    parser.add_argument("--baseline", default="softmax", help="variant to compare against")
    args = parser.parse_args(argv)
    try:
        bits = BitWidths.parse(args.bits)
        runs = load_runs(args.dirs)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    summary = summarise(runs, bits, args.baseline)
    output = args.output or args.dirs[0]
    output.mkdir(parents=True, exist_ok=True)
    markdown = to_markdown(summary, bits, args.baseline)
    with atomic_open(output / "report.md") as f:
        f.write(markdown)
    plot(summary, bits, output / "report.png")
    print(markdown)
    print(f"written to {output / 'report.md'} and {output / 'report.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
