"""Finding finished training runs and reading what a report compares: their identity
(dataset, horizon, variant, seed), final metrics, per-epoch validation history and
per-tap outlier table."""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

# What makes runs comparable: runs of different datasets or horizons are never pooled.
# A dataset is the data and what the runs asked of it (SETTINGS): see dataset_labels.
GROUP = ["dataset", "horizon"]
# Besides the data and the horizon, what makes the errors of two runs comparable: the
# series forecast (past covariates are the others), the inputs known over the horizon,
# and the length of history the model reads.
SETTINGS = ["targets", "calendar", "future", "in_len"]
# What stanhop.fit records as data.path: the data was a DataFrame, told apart from other
# frames by the content hash train() records beside the settings.
FRAME = "DataFrame"
DATA_HASH = "data_hash"
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


def dataset_of(config: dict, run: Path | None = None) -> tuple[str, str]:
    """``(identity, name)`` of a run's data. The identity tells datasets apart: a
    benchmark's name, a CSV's resolved path (a relative path taken from the folder the
    run was started in, which Hydra records in ``RUN/.hydra/hydra.yaml``; else from this
    one), a DataFrame's content hash (a run that recorded none is data of its own), or a
    source's whole configuration (synthetic data of other sizes or seeds is other data).
    The name is what a report shows: the benchmark's name, the CSV's file name,
    ``DataFrame``, or the kind of source (``synthetic``)."""
    data = config.get("data", {})
    source = data.get("source") or {}
    if "name" in source:
        return f"benchmark {source['name']}", str(source["name"])
    path = source.get("path") or data.get("path")
    if path == FRAME:
        recorded = config.get(DATA_HASH)
        return (f"{FRAME} {recorded}" if recorded else f"{FRAME} of {run}"), FRAME
    if path:
        path = Path(str(path)).expanduser()
        return str((started_in(run) / path).resolve()), path.name
    target = str(source.get("_target_") or data.get("_target_") or "unknown")
    name = target.rsplit(".", 1)[-1].removesuffix("Source").lower()
    return json.dumps(source or {"_target_": target}, sort_keys=True, default=str), name


def started_in(run: Path | None) -> Path:
    """The folder training was started from: Hydra's record in the run folder, else the
    current one."""
    record = run / ".hydra" / "hydra.yaml" if run is not None else None
    if record is not None and record.is_file():
        cwd = OmegaConf.select(OmegaConf.load(record), "hydra.runtime.cwd")
        if cwd:
            return Path(cwd)
    return Path.cwd()


def dataset_names(identities: Sequence[str], names: Sequence[str]) -> list[str]:
    """A name per dataset that no other dataset shares: the short name where it is unique,
    else for files as many of the path's last folders as set it apart (``siteA/data.csv``),
    for others the name and a digest of the identity (``synthetic-3f2a9c``)."""
    known = dict(zip(identities, names, strict=True))
    taken: dict[str, set[str]] = {}
    for identity, name in known.items():
        taken.setdefault(name, set()).add(identity)
    unique = {}
    for identity, name in known.items():
        rivals = taken[name] - {identity}
        if not rivals:
            unique[identity] = name
        elif Path(identity).is_absolute():
            parts = Path(identity).parts
            depth = next(
                d
                for d in range(2, len(parts) + 1)
                if all(Path(r).parts[-d:] != parts[-d:] for r in rivals)
            )
            unique[identity] = str(Path(*parts[-depth:]))
        else:
            unique[identity] = f"{name}-{hashlib.sha256(identity.encode()).hexdigest()[:6]}"
    return [unique[identity] for identity in identities]


def settings_of(config: dict) -> dict[str, str]:
    """A run's :data:`SETTINGS` as a report writes them."""
    data = config.get("data", {})
    targets, calendar = data.get("targets"), data.get("calendar") or []
    future = data.get("future") or []
    return {
        "targets": f"targets {', '.join(map(str, targets))}" if targets else "all series",
        "calendar": f"calendar {', '.join(map(str, calendar))}" if calendar else "no calendar",
        "future": f"future {', '.join(map(str, future))}" if future else "no future inputs",
        "in_len": f"in_len {data.get('in_len')}",
    }


def dataset_labels(runs: pd.DataFrame) -> list[str]:
    """A label per run that two runs share only when their data and :data:`SETTINGS` are
    the same: the data's name (:func:`dataset_names`), followed by the settings in which
    runs of that data differ (``ETTh1.csv (targets OT)`` beside ``ETTh1.csv (all
    series)``); the bare name where they differ in none."""
    names = dataset_names(list(runs["data"]), list(runs["dataset"]))
    labels = []
    for label, (_, run) in zip(names, runs.iterrows(), strict=True):
        same_data = runs[runs["data"] == run["data"]]
        differing = [key for key in SETTINGS if same_data[key].nunique() > 1]
        if differing:
            label += " (" + "; ".join(run[key] for key in differing) + ")"
        labels.append(label)
    return labels


def load_runs(dirs: Sequence[Path]) -> pd.DataFrame:
    """One row per run: ``data`` (the identity of its data, see :func:`dataset_of`), its
    :data:`SETTINGS` (:func:`settings_of`), ``dataset`` (a label for the data and those
    settings that no other dataset shares, see :func:`dataset_labels`), ``horizon``,
    ``variant``, ``seed``, ``run`` (its folder) and every metric of its
    ``metrics.json``. A ``metrics.json`` that cannot be read is skipped with a warning
    naming it."""
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
            metrics = read_metrics(metrics_path)
            if metrics is None:
                continue
            identity, name = dataset_of(config, metrics_path.parent)
            rows.append(
                {
                    "data": identity,
                    "dataset": name,
                    **settings_of(config),
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
    runs = pd.DataFrame(rows)
    runs["dataset"] = dataset_labels(runs)
    return runs


def read_metrics(path: Path) -> dict | None:
    """The metrics in ``path``; ``None``, with a warning naming the file, when it is not
    a JSON object (a run killed while writing it, a file edited by hand)."""
    try:
        metrics = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        warnings.warn(f"{path}: skipped, not readable as JSON ({err})", stacklevel=3)
        return None
    if not isinstance(metrics, dict):
        warnings.warn(f"{path}: skipped, not a JSON object of metrics", stacklevel=3)
        return None
    return metrics


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
