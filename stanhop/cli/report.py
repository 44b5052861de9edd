"""Compare runs: ``stanhop-report DIR... [--out DIR] [--bits W8A8] [--baseline softmax]``
(also ``python -m stanhop.report``).

Reads the ``metrics.json`` and ``config.yaml`` of every run found under the given folders
(a Hydra multirun folder included) and groups runs by dataset, horizon and variant (the
``hopfield=`` option for STanHop-Net, the model name for other models): runs of different
datasets or horizons are never pooled. A dataset is known by its full identity (a CSV by
its resolved path, so ``siteA/data.csv`` and ``siteB/data.csv`` are two datasets, shown
with as much of their path as tells them apart; a DataFrame given to ``stanhop.fit`` by
its content) and by what the runs asked of it: their targets, calendar and future inputs
and input length (runs of one file that differ in these are shown as, for example,
``ETTh1.csv (targets OT)`` and ``ETTh1.csv (all series)``). A ``metrics.json`` that
cannot be read is skipped with a warning naming it. Writes into ``--out`` (default: the
first folder):

* ``report.md``: per dataset and horizon, the outlier study's table as the OutEffHop paper
  gives it (average kurtosis, maximum infinity norm, float MSE, quantised MSE) and the
  accuracy table (MSE and MAE, standardised and in the data's units, quantised over
  float MSE), as mean ± std over runs with each variant's change against the baseline;
  how many distinct seeds each variant ran, and a warning where runs repeat a seed;
* ``report.png``: the same numbers as bar charts;
* ``curves.png``: validation MSE, maximum infinity norm and average kurtosis against
  epoch per variant (mean line, band from the lowest to the highest run), from runs
  trained with ``callbacks.outliers.every_n_val_epochs``;
* ``heatmap.png``: every tap's test kurtosis and infinity norm per variant relative to
  the baseline's, from each run's ``outliers.csv``.

With several datasets or horizons, every figure is written once per group, its name
ending in ``_<dataset>_<horizon>``.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from stanhop.cli.common import CommandParser, run_reporting
from stanhop.cli.report_figures import plot_bars, plot_curves, plot_heatmap
from stanhop.cli.report_runs import GROUP, ReportError, histories, load_runs, tap_tables
from stanhop.files.atomic import atomic_open
from stanhop.measures.bits import BitWidths

__all__ = ["ReportError", "load_runs", "main", "summarise"]


def paper_columns(bits: BitWidths) -> dict[str, str]:
    """metric key → column title of the OutEffHop paper's table (Table 1)."""
    return {
        "outliers/avg_kurtosis": "avg kurtosis",
        "outliers/max_inf_norm": "max inf-norm",
        "test/mse": "float MSE",
        f"quant/{bits.name}/mse": f"{bits.name.upper()} MSE",
    }


def accuracy_columns(bits: BitWidths) -> dict[str, str]:
    """metric key → column title of the accuracy table."""
    return {
        "test/mse": "MSE",
        "test/mae": "MAE",
        "test/mse_orig": "MSE (data units)",
        "test/mae_orig": "MAE (data units)",
        f"quant/{bits.name}/mse_ratio": f"{bits.name.upper()} / float MSE",
    }


def columns_for(bits: BitWidths) -> dict[str, str]:
    """Every metric the report summarises → its title."""
    return paper_columns(bits) | accuracy_columns(bits)


def summarise(runs: pd.DataFrame, bits: BitWidths, baseline: str) -> pd.DataFrame:
    """Per (dataset, horizon, variant): ``runs`` (count), ``seeds`` (distinct seeds),
    mean and std over runs of every metric, and the relative change of the mean against
    ``baseline`` of the same dataset and horizon (absent where the baseline was not run)."""
    keys = [*GROUP, "variant"]
    metrics = [key for key in columns_for(bits) if key in runs]
    grouped = runs.groupby(keys, sort=False)
    summary = pd.concat(
        {"mean": grouped[metrics].mean(), "std": grouped[metrics].std(ddof=1)}, axis=1
    ).swaplevel(axis=1)
    summary[("runs", "n")] = grouped.size()
    summary[("seeds", "n")] = grouped["seed"].nunique()
    summary[("seeds", "list")] = grouped["seed"].agg(lambda s: sorted(set(s)))
    is_baseline = summary.index.get_level_values("variant") == baseline
    if not is_baseline.any():
        return summary
    for key in metrics:
        base = summary.loc[is_baseline, (key, "mean")].droplevel("variant").to_dict()
        # NaN where this dataset and horizon have no baseline run.
        reference = pd.Series(summary.index.droplevel("variant").map(base), index=summary.index)
        summary[(key, "change")] = (summary[(key, "mean")] - reference) / reference.abs()
    return summary


def _cell(row: pd.Series, key: str, show_change: bool) -> str:
    mean, std = row[(key, "mean")], row[(key, "std")]
    if pd.isna(mean):
        return "—"
    cell = f"{mean:.4g}" if pd.isna(std) else f"{mean:.4g} ± {std:.2g}"
    change = row.get((key, "change"))
    if show_change and change is not None and not pd.isna(change):
        cell += f" ({change:+.1%})"
    return cell


def _table(group: pd.DataFrame, titles: dict[str, str], baseline: str) -> list[str]:
    titles = {key: title for key, title in titles.items() if (key, "mean") in group}
    header = ["variant", "runs", "seeds", *titles.values()]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for variant, row in group.iterrows():
        seeds = ",".join(str(s) for s in row[("seeds", "list")])
        cells = [str(variant), str(int(row[("runs", "n")])), seeds]
        cells += [_cell(row, key, variant != baseline) for key in titles]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def repeated_seeds(summary: pd.DataFrame) -> list[str]:
    """One sentence per group whose runs repeat a seed."""
    notes = []
    for (dataset, horizon, variant), row in summary.iterrows():
        runs, seeds = int(row[("runs", "n")]), int(row[("seeds", "n")])
        if runs > seeds:
            notes.append(
                f"{dataset} horizon {horizon}, {variant}: {runs} runs of {seeds} distinct "
                f"seed{'s' * (seeds > 1)} — the spread is over repeated runs, not seeds."
            )
    return notes


def to_markdown(summary: pd.DataFrame, bits: BitWidths, baseline: str) -> str:
    parts = []
    for (dataset, horizon), group in summary.groupby(level=GROUP, sort=False):
        group = group.droplevel(GROUP)
        has_baseline = baseline in group.index
        parts.append(f"## {dataset}, horizon {horizon}\n")
        parts.append("Outliers and quantisation (the columns of the OutEffHop paper):\n")
        parts += [*_table(group, paper_columns(bits), baseline), ""]
        parts.append("Accuracy on the test split:\n")
        parts += [*_table(group, accuracy_columns(bits), baseline), ""]
        parts.append(
            f"Mean ± sample std over runs; in brackets the change of the mean against "
            f"`{baseline}`.\n"
            if has_baseline
            else f"Mean ± sample std over runs; `{baseline}` was not run, so no changes.\n"
        )
    notes = repeated_seeds(summary)
    if notes:
        parts += ["**Warning: runs repeat a seed.**", *(f"- {note}" for note in notes), ""]
    return "\n".join(parts)


def _select(key: tuple[str, int], frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``frame`` of one dataset and horizon."""
    return frame[(frame["dataset"] == key[0]) & (frame["horizon"] == key[1])]


def _suffix(key: tuple[str, int], several: bool) -> str:
    # A dataset's name may hold folders and settings (siteA/data.csv, data.csv (targets
    # OT)): a file name gets siteA-data.csv, data.csv-targets-OT.
    name = re.sub(r"[^\w.+-]+", "-", key[0]).strip("-")
    return f"_{name}_{key[1]}" if several else ""


def write_report(runs: pd.DataFrame, bits: BitWidths, baseline: str, output: Path) -> list[Path]:
    """Write ``report.md`` and the figures into ``output``; the files written."""
    output.mkdir(parents=True, exist_ok=True)
    summary = summarise(runs, bits, baseline)
    written = [output / "report.md"]
    with atomic_open(written[0]) as f:
        f.write(to_markdown(summary, bits, baseline))
    history, taps = histories(runs), tap_tables(runs)
    groups = list(summary.groupby(level=GROUP, sort=False))
    for key, group in groups:
        suffix = _suffix(key, len(groups) > 1)
        title = f"{key[0]}, horizon {key[1]}"
        path = output / f"report{suffix}.png"
        plot_bars(group.droplevel(GROUP), columns_for(bits), title, path)
        written.append(path)
        if not history.empty and len(_select(key, history)):
            path = output / f"curves{suffix}.png"
            plot_curves(_select(key, history), title, path)
            written.append(path)
        variants = set(_select(key, taps)["variant"]) if not taps.empty else set()
        if baseline in variants and len(variants) > 1:
            path = output / f"heatmap{suffix}.png"
            plot_heatmap(_select(key, taps), baseline, title, path)
            written.append(path)
    return written


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="stanhop-report", description=__doc__)
    parser.add_argument("dirs", nargs="+", type=Path, help="run or multirun folders")
    parser.add_argument(
        "-o", "--out", type=Path, help="folder for the report (default: the first folder)"
    )
    parser.add_argument("--bits", default="W8A8", help="quantised columns to show (W8A8)")
    parser.add_argument("--baseline", default="softmax", help="variant to compare against")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    args = build_parser().parse_args(argv)
    return run_reporting(run, args, (ValueError, OSError))


def run(args: argparse.Namespace) -> None:
    output = args.out or args.dirs[0]
    bits = BitWidths.parse(args.bits)
    runs = load_runs(args.dirs)
    if output.exists() and not output.is_dir():
        raise ReportError(f"--out {output} is a file; give a folder")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ReportError(f"cannot write to {output}: {err.strerror}") from err
    written = write_report(runs, bits, args.baseline, output)
    print(written[0].read_text())
    print("written: " + ", ".join(str(path) for path in written))


if __name__ == "__main__":
    sys.exit(main())
