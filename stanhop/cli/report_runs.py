"""Finding finished training runs and reading what a report compares: their identity
(dataset, horizon, variant, seed), final metrics, per-epoch validation history and
per-tap outlier table."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

# What makes runs comparable: runs of different datasets or horizons are never pooled.
GROUP = ["dataset", "horizon"]
# Where the CSV logger of a run writes its per-step and per-epoch metrics (conf/logger/csv).
HISTORY = Path("csv") / "metrics.csv"


class ReportError(ValueError):
    """A report that cannot be made, in one line."""


def variant_of(config: dict) -> str:
    """The ``hopfield=`` option of a STanHop-Net run, the model name of any other model."""
    model = config.get("model", {})
    if model.get("name", "stanhop") != "stanhop":
        return str(model["name"])
    return str(model.get("hopfield", {}).get("name") or config.get("hopfield", {}).get("name"))


def dataset_of(config: dict) -> str:
    """A benchmark's name, a CSV's file name, or the kind of source (``synthetic``)."""
    data = config.get("data", {})
    source = data.get("source") or {}
    if "name" in source:
        return str(source["name"])
    path = source.get("path") or data.get("path")
    if path:
        return Path(str(path)).name
    target = str(source.get("_target_") or data.get("_target_") or "unknown")
    return target.rsplit(".", 1)[-1].removesuffix("Source").lower()


def load_runs(dirs: Sequence[Path]) -> pd.DataFrame:
    """One row per run: ``dataset``, ``horizon``, ``variant``, ``seed``, ``run`` (its
    folder) and every metric of its ``metrics.json``."""
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
                    "dataset": dataset_of(config),
                    "horizon": int(config.get("data", {}).get("out_len", -1)),
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


def epoch_history(run: Path, prefix: str = "val_outliers") -> pd.DataFrame:
    """Per training epoch of one run (index ``epoch``): ``val/mse`` and every
    ``<prefix>/<aggregate>`` its CSV log holds; empty when it logged none."""
    path = Path(run) / HISTORY
    if not path.is_file():
        return pd.DataFrame()
    log = pd.read_csv(path)
    columns = [
        c for c in log if c == "val/mse" or (c.startswith(f"{prefix}/") and "/tap/" not in c)
    ]
    if "epoch" not in log or not any(c.startswith(f"{prefix}/") for c in columns):
        return pd.DataFrame()
    # Validation metrics land in their own rows; the last value of an epoch is the one
    # taken at that epoch's end (the test after fit logs none of these).
    return (
        log.dropna(subset=[c for c in columns if c.startswith(f"{prefix}/")], how="all")
        .groupby("epoch")[columns]
        .last()
    )


def histories(runs: pd.DataFrame) -> pd.DataFrame:
    """The per-epoch history of every run, long: ``dataset``, ``horizon``, ``variant``,
    ``seed``, ``run``, ``epoch`` and the metrics."""
    frames = []
    for _, row in runs.iterrows():
        history = epoch_history(Path(row["run"]))
        if history.empty:
            continue
        history = history.reset_index()
        for key in (*GROUP, "variant", "seed", "run"):
            history[key] = row[key]
        frames.append(history)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def tap_tables(runs: pd.DataFrame) -> pd.DataFrame:
    """Every run's ``outliers.csv`` (test split, one row per tap), long, with the run's
    ``dataset``, ``horizon``, ``variant``, ``seed`` and ``run``; empty when none has one."""
    frames = []
    for _, row in runs.iterrows():
        path = Path(row["run"]) / "outliers.csv"
        if not path.is_file():
            continue
        table = pd.read_csv(path)
        table["order"] = range(len(table))
        for key in (*GROUP, "variant", "seed", "run"):
            table[key] = row[key]
        frames.append(table)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
