"""Weights & Biases at the edge: a logger that works without a network, dashboard
summaries, the per-tap outlier table, and one finished wandb run per training run."""

from __future__ import annotations

import importlib.util
import netrc
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_only

DEFAULT_HOST = "https://api.wandb.ai"
# Summaries the wandb run table shows per run: the best validation error, and the test
# figures the outlier study compares.
SUMMARIES = {
    "val/mse": "min",
    "val/mae": "min",
    "train/loss_epoch": "min",
    "test/mse": "last",
    "outliers/avg_kurtosis": "last",
    "outliers/max_inf_norm": "last",
}


def has_api_key(environ: dict[str, str] | None = None) -> bool:
    """Whether wandb has credentials here: ``WANDB_API_KEY`` or a netrc entry for the
    wandb host (where ``wandb login`` stores the key)."""
    environ = os.environ if environ is None else environ
    if environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(environ.get("WANDB_BASE_URL", DEFAULT_HOST)).hostname
    path = environ.get("NETRC") or str(Path.home() / ".netrc")
    try:
        return netrc.netrc(path).authenticators(host) is not None
    except (OSError, netrc.NetrcParseError):
        return False


def wandb_logger(
    project: str,
    save_dir: str,
    group: str | None = None,
    tags: Sequence[str] = (),
    name: str | None = None,
    mode: str | None = None,
    **kwargs: Any,
) -> WandbLogger:
    """A ``WandbLogger`` that runs offline unless wandb can log in.

    ``mode=None`` means ``WANDB_MODE`` when set, else ``online`` with credentials and
    ``offline`` without — so a run never fails or waits for a network, and an offline run
    is uploaded later with ``wandb sync <save_dir>/wandb/offline-run-*``.
    """
    if importlib.util.find_spec("wandb") is None:
        raise ValueError(
            "logger=wandb needs the wandb package: pip install 'stanhop[wandb]' (or choose "
            "logger=csv)"
        )
    mode = mode or os.environ.get("WANDB_MODE") or ("online" if has_api_key() else "offline")
    Path(save_dir).mkdir(parents=True, exist_ok=True)
    return WandbLogger(
        project=project,
        save_dir=save_dir,
        group=group,
        tags=[str(tag) for tag in tags],
        name=name,
        mode=mode,
        **kwargs,
    )


def prepare_runs(loggers: Iterable[Any], config: dict[str, Any]) -> None:
    """Give every wandb run the whole resolved config (so the UI can group by
    ``hopfield.name``, ``seed`` …) and the metric summaries of :data:`SUMMARIES`.

    Only the first DDP process has a wandb run: Lightning gives the others a dummy
    experiment, whose ``config`` is not a mapping."""
    if rank_zero_only.rank != 0:
        return
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            run = logger.experiment
            run.config.update(config, allow_val_change=True)
            for metric, summary in SUMMARIES.items():
                run.define_metric(metric, summary=summary)


def finish_runs(loggers: Iterable[Any], failed: bool) -> None:
    """End every wandb run, marking it failed when training raised, so each job of a
    Hydra multirun gets a run of its own."""
    if any(isinstance(logger, WandbLogger) for logger in loggers):
        import wandb

        wandb.finish(exit_code=1 if failed else 0)


def log_outlier_table(
    logger: WandbLogger, prefix: str, rows: list[dict[str, object]], samples: dict[str, Any]
) -> None:
    """The per-tap table with bar charts of kurtosis and infinity norm, and a histogram of
    the activations of the tap with the largest infinity norm."""
    import wandb

    columns = ["tap", "kind", "kurtosis", "inf_norm"]
    table = wandb.Table(columns=columns, data=[[row[c] for c in columns] for row in rows])
    payload: dict[str, Any] = {
        f"{prefix}/table": table,
        f"{prefix}/kurtosis_by_tap": wandb.plot.bar(
            table, "tap", "kurtosis", title=f"{prefix}: kurtosis per tap"
        ),
        f"{prefix}/inf_norm_by_tap": wandb.plot.bar(
            table, "tap", "inf_norm", title=f"{prefix}: infinity norm per tap"
        ),
    }
    worst = max(rows, key=lambda row: float(row["inf_norm"]))["tap"]
    if worst in samples:
        payload[f"{prefix}/worst_tap_activations"] = wandb.Histogram(
            samples[worst].numpy(), num_bins=128
        )
        payload[f"{prefix}/worst_tap"] = str(worst)
    logger.experiment.log(payload)
