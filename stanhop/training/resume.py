"""Resuming a run (``ckpt_path=``) in its folder: the checkpoint it goes on from, and the
check that it goes on as the same run.

A resume rewrites the run's ``metrics.json`` and ``config.yaml``, so one with other data,
another model or other targets would leave a folder whose files describe neither run.
Before anything is written, the settings the resume was given are compared with the
run's ``config.yaml`` and, once the data is read, its content with the run's: any
difference but those a resume may make (:data:`RESUME_MAY_CHANGE`) is a one-line error
naming each setting.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from stanhop.files.run_dir import CHECKPOINTS, LAST

CONFIG = "config.yaml"
# Not a setting: the content hash of the data a run read (TimeSeriesDataModule's
# content_hash), which train() adds to config.yaml.
DATA_HASH = "data_hash"
# Settings (and the settings below them) a resume may change: how long the run goes on
# and when it stops, where and how fast it runs, what it shows and where it logs, and
# where its folder and the download cache lie (a run folder copied or moved elsewhere).
RESUME_MAY_CHANGE = (
    "ckpt_path",
    "trainer.max_epochs",
    "trainer.max_steps",
    "trainer.max_time",
    "callbacks.early_stopping",
    "threads",
    "compile",
    "trainer.accelerator",
    "trainer.devices",
    "trainer.num_nodes",
    "data.num_workers",
    "trainer.enable_progress_bar",
    "trainer.log_every_n_steps",
    "trainer.profiler",
    "callbacks.progress_bar",
    "logger",
    "paths",
    "data.source.root",
)
# What a path inside the run folder reads as when the folders of two runs are compared.
_RUN_FOLDER = "<run folder>"
# A value that is another setting's, as an interpolation writes it: ${seed}, ${hopfield}.
_REFERENCE = re.compile(r"\$\{[\w.]+\}")
_SHOWN = 60  # characters of a list an error message shows


def resolve_ckpt_path(ckpt_path: str | None, output_dir: Path) -> str | None:
    """The checkpoint a run goes on from: ``ckpt_path`` as given, or for ``last`` the last
    checkpoint of ``output_dir``."""
    if ckpt_path != "last":
        return ckpt_path
    last = output_dir / CHECKPOINTS / LAST
    if not last.is_file():
        raise FileNotFoundError(
            f"ckpt_path=last but {last} does not exist; rerun with the same hydra.run.dir "
            "as the interrupted run, or give a checkpoint path"
        )
    return str(last)


def saved_config(cfg: DictConfig, output_dir: Path) -> dict[str, Any] | None:
    """The ``config.yaml`` of the run that ``cfg`` resumes in ``output_dir``; None when
    ``cfg`` starts a run, or the folder holds no config."""
    path = output_dir / CONFIG
    if not cfg.get("ckpt_path") or not path.is_file():
        return None
    return OmegaConf.to_container(OmegaConf.load(path))


def check_settings(
    given: DictConfig, cfg: DictConfig, saved: Mapping[str, Any], output_dir: Path
) -> None:
    """A one-line ``ValueError`` naming every setting of ``cfg`` (the run's config as
    train() saves it; ``given``, as it was composed, says which settings only repeat
    others) that differs from the resumed run's ``saved`` config, apart from
    :data:`RESUME_MAY_CHANGE`. Settings only one side has (added or removed by another
    stanhop version) are not compared; paths inside either run's folder are compared
    relative to it."""
    ours = _settings(OmegaConf.to_container(cfg, resolve=True))
    theirs = _settings(saved)
    # A setting that only repeats another (data.seed: ${seed}) is named once, as that one.
    derived = [
        key
        for key, value in _settings(OmegaConf.to_container(given, resolve=False)).items()
        if isinstance(value, str) and _REFERENCE.fullmatch(value)
    ]
    differ = [
        f"{key}={_show(ours[key])} (the run's: {_show(theirs[key])})"
        for key in ours
        if key in theirs
        and ours[key] != theirs[key]
        and not _under(key, RESUME_MAY_CHANGE)
        and not _under(key, derived)
    ]
    if differ:
        raise ValueError(
            f"ckpt_path={cfg.ckpt_path}: {output_dir} holds a run trained with other settings: "
            f"{', '.join(differ)}; resume with the run's settings (its {CONFIG}), or start a "
            "new run in another folder"
        )


def check_data(
    cfg: DictConfig, saved: Mapping[str, Any], datamodule: Any, output_dir: Path
) -> None:
    """A one-line ``ValueError`` when the data ``datamodule`` read is not the data the
    resumed run trained on (their content hashes differ): the same settings can name
    another DataFrame, or a file changed since."""
    recorded, now = saved.get(DATA_HASH), getattr(datamodule, "content_hash", None)
    if recorded is not None and now is not None and recorded != now:
        raise ValueError(
            f"ckpt_path={cfg.ckpt_path}: the data differs from what the run in {output_dir} "
            f"trained on (content hash {now}, the run's: {recorded}); resume with the run's "
            "data, or start a new run in another folder"
        )


def _settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` as dotted keys to values (lists as values), paths inside its run folder
    (``paths.output_dir``) written from :data:`_RUN_FOLDER`."""
    folder = (config.get("paths") or {}).get("output_dir")
    flat: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, Mapping) and node:
            for key, value in node.items():
                walk(value, f"{prefix}{key}.")
        else:
            flat[prefix[:-1]] = _in_run_folder(node, folder)

    walk(config, "")
    return flat


def _in_run_folder(value: Any, folder: str | None) -> Any:
    if isinstance(value, list):
        return [_in_run_folder(v, folder) for v in value]
    if folder and isinstance(value, str) and (value == folder or value.startswith(f"{folder}/")):
        return _RUN_FOLDER + value[len(folder) :]
    return value


def _under(key: str, settings: Sequence[str]) -> bool:
    """Whether ``key`` is one of ``settings`` or lies below one."""
    return any(key == setting or key.startswith(f"{setting}.") for setting in settings)


def _show(value: Any) -> str:
    """A setting's value as a command line writes it; a list cut to :data:`_SHOWN`
    characters (a list of hundreds of series would swamp the line)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        text = "[" + ",".join(_show(v) for v in value) + "]"
        return text if len(text) <= _SHOWN else text[: _SHOWN - 2] + "…]"
    return str(value)
