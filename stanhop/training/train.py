"""``train(cfg) -> metrics``: fit, validate and test one configuration. Hydra-free apart
from ``instantiate``, so tests and other tools call it with a composed config."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.utilities import rank_zero_info, rank_zero_only
from omegaconf import DictConfig, OmegaConf

from stanhop.data.freq import segment_length
from stanhop.data.splits import Split
from stanhop.files.atomic import atomic_open
from stanhop.files.checkpoint import INTERVALS_KEY, add_to_checkpoint, to_plain
from stanhop.files.run_dir import BEST, CHECKPOINTS, keep_earlier_run
from stanhop.model import model_class, model_spec
from stanhop.model.cross_series import router_hint
from stanhop.runtime.plan import RunPlan, plan_run
from stanhop.training.callbacks.adaptive_threads import AdaptiveThreads
from stanhop.training.callbacks.intervals import ConformalIntervals
from stanhop.training.checkpoint_io import AtomicCheckpointIO
from stanhop.training.init_from import InitialModel
from stanhop.training.lit import LitForecaster
from stanhop.training.memory_setup import MemorySetup
from stanhop.training.refit import ValidatedRun, replay_schedule
from stanhop.training.resume import (
    DATA_HASH,
    check_data,
    check_settings,
    resolve_ckpt_path,
    saved_config,
)
from stanhop.training.wandb_dashboard import finish_runs, prepare_runs


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Write JSON through a temporary file and a rename, so a reader never sees half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path) as f:
        json.dump(payload, f, indent=2, sort_keys=True)
        f.write("\n")


def _instantiate_all(group: DictConfig | None) -> list[Any]:
    """Instantiate each entry of a name → config mapping, skipping entries set to null."""
    if not group:
        return []
    return [instantiate(entry) for entry in group.values() if entry is not None]


def _keep_csv_logs(loggers: list[Any]) -> None:
    """Lightning's CSVLogger deletes an existing ``metrics.csv`` when it starts; a resumed
    run moves the interrupted run's log aside (``metrics.part1.csv``, …) instead."""
    for logger in loggers:
        if not isinstance(logger, CSVLogger):
            continue
        log = Path(logger.log_dir) / "metrics.csv"
        if log.is_file():
            part = 1
            while (kept := log.with_name(f"metrics.part{part}.csv")).exists():
                part += 1
            log.rename(kept)


def build_module(cfg: DictConfig, datamodule: Any) -> LitForecaster:
    """The LightningModule for ``cfg``, sized to the series of a set-up datamodule.

    ``cfg.model`` instantiates the model's config (``n_series`` and ``targets`` come from
    the data);
    its plain dict (:func:`~stanhop.model.model_spec`) is what the checkpoint stores.
    ``model.seg_len=auto`` becomes the segment of the data's frequency
    (:func:`~stanhop.data.freq.segment_length`). Whether to compile is the run's choice
    (:mod:`stanhop.runtime.plan`), not the model's.
    """
    from_data = {
        "n_series": datamodule.n_series,
        "targets": datamodule.target_indices,
        "n_future": datamodule.n_future,
    }
    if cfg.model.get("seg_len") == "auto":
        from_data["seg_len"] = segment_length(datamodule.freq, cfg.model.in_len)
        rank_zero_info(
            f"model.seg_len=auto: {from_data['seg_len']} steps (data at frequency "
            f"{datamodule.freq}, in_len {cfg.model.in_len})"
        )
    try:
        config = instantiate(cfg.model, **from_data)
    except InstantiationException as err:  # the config's own one-line error, unwrapped
        if isinstance(err.__cause__, ValueError):
            raise err.__cause__ from None
        raise
    spec = model_spec(config)
    memory: MemorySetup = instantiate(cfg.memory)
    supports_memory = model_class(spec["name"]).supports_memory
    if not supports_memory and memory.name != "none":
        raise ValueError(f"model={spec['name']} has no external memory; use memory=none")
    initial = datamodule.initial
    module = LitForecaster(
        model=spec,
        scaler=datamodule.scaler.to_dict(),
        series_names=list(datamodule.series_names),
        targets=list(datamodule.target_names),
        covariates=list(datamodule.covariate_names),
        calendar=list(datamodule.calendar),
        future=list(datamodule.future),
        init_from=None if initial is None else str(initial.path),
        freq=datamodule.freq,
        last_train_timestamp=datamodule.last_train_timestamp,
        timezone=datamodule.timezone,
        optimizer=instantiate(cfg.optimizer),
        scheduler=instantiate(cfg.scheduler) if cfg.get("scheduler") else None,
        freeze_backbone=memory.freeze_backbone,
    )
    if supports_memory:
        memory.apply(module.model, datamodule)
    if initial is not None:
        initial.load_into(module.model, spec)
    return module


def train(
    cfg: DictConfig,
    datamodule: Any = None,
    *,
    test: bool = True,
    callbacks: Sequence[L.Callback] = (),
    evaluate: bool = True,
) -> dict[str, float]:
    """Fit on the training split, then evaluate the best checkpoint on validation and
    test. Writes ``metrics.json`` and the resolved ``config.yaml`` (with the content hash
    of the data, ``data_hash``) into ``cfg.paths.output_dir`` (from the first process
    only, under DDP) and returns the metrics. A resume (``ckpt_path``) of the run in that
    folder must have its settings and data (:mod:`stanhop.training.resume`).
    ``datamodule``, when given, replaces ``instantiate(cfg.data)`` (data that a config
    cannot hold, such as a DataFrame; see :func:`stanhop.api.fit`).

    ``test=False`` is the validation-only mode of a tuning trial: the test windows are
    never built, and neither the interval calibration nor the test pass (with the
    evaluation callbacks it runs) happens. ``evaluate=False`` leaves out the test pass
    alone (the intervals are calibrated; the test windows are never built).
    ``callbacks`` join those of ``cfg.callbacks`` (objects a config cannot describe, such
    as a tuning trial's pruning callback)."""
    output_dir = _make_output_dir(Path(cfg.paths.output_dir))
    L.seed_everything(cfg.seed, workers=True)
    cfg, datamodule, refit = _settings_and_data(cfg, datamodule, output_dir, test and evaluate)
    test = test and refit is None
    module = build_module(cfg, datamodule)
    if refit is not None:
        refit.check_same_model(to_plain(dict(module.hparams)))
        module.scheduler_factory = replay_schedule(refit.lr_by_epoch)

    loggers = _instantiate_all(cfg.get("logger"))
    if cfg.get("ckpt_path") and rank_zero_only.rank == 0:
        _keep_csv_logs(loggers)
    failed = True
    try:
        prepare_runs(loggers, OmegaConf.to_container(cfg, resolve=True))
        plan = plan_run(cfg, module, datamodule)
        compiled = plan.compile(module, datamodule)
        for line in (*plan.lines, compiled, router_hint(module.hparams.model)):
            if line:
                rank_zero_info(line)
        trainer = _build_trainer(cfg, plan, callbacks, loggers)
        metrics = _fit_and_evaluate(
            trainer, module, datamodule, cfg, output_dir, test, refit, evaluate
        )
        plan.finished()
        failed = False
    finally:
        finish_runs(loggers, failed)
    if trainer.is_global_zero:
        write_json_atomic(output_dir / "metrics.json", metrics)
    return metrics


def _make_output_dir(output_dir: Path) -> Path:
    """``output_dir``, created if need be; a one-line error where it cannot be."""
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(
            f"paths.output_dir={output_dir}: cannot create it ({err.strerror}); choose a "
            "writable folder"
        ) from err
    return output_dir


def _settings_and_data(
    cfg: DictConfig, datamodule: Any, output_dir: Path, all_splits: bool
) -> tuple[DictConfig, Any, ValidatedRun | None]:
    """The settings the run trains with (a refit's, a resumed run's checked against its
    saved ones), its datamodule set up (every split where ``all_splits``, else those of
    fitting) and checked, and the refit it is, if one; writes ``config.yaml`` and says
    what data the run trains on."""
    refit = ValidatedRun.read(cfg.refit_from) if cfg.get("refit_from") else None
    datamodule = datamodule if datamodule is not None else instantiate(cfg.data)
    given = cfg
    if refit is not None:
        datamodule.split = Split(1.0, 0, 0)
        cfg = refit.configure(cfg)
    # A resume must go on as the run it resumes (as config.yaml saved it, a refit's
    # settings included), checked before anything is written.
    resumed = saved_config(cfg, output_dir)
    if resumed is not None:
        check_settings(given, cfg, resumed, output_dir)
    if cfg.get("init_from"):
        # Read first, so that with init_scaler=keep the data is standardised by its scaler.
        datamodule.initial = InitialModel(cfg.init_from, cfg.get("init_scaler", "refit"))
    datamodule.prepare_data()
    datamodule.setup(None if all_splits and refit is None else "fit")
    if resumed is not None:
        check_data(cfg, resumed, datamodule, output_dir)
    # After the data checks, so data that cannot be trained on leaves no config behind.
    _record_config(cfg, datamodule, output_dir)
    for line in (datamodule.resampled, datamodule.summary(), _held_out_note(datamodule, refit)):
        if line:
            rank_zero_info(line)
    return cfg, datamodule, refit


def _record_config(cfg: DictConfig, datamodule: Any, output_dir: Path) -> None:
    """Write the run's resolved ``config.yaml``, with the data's content hash, moving an
    earlier run in ``output_dir`` aside unless this one resumes it. Under DDP every
    process runs train(); only the first writes the run's files."""
    if rank_zero_only.rank != 0:
        return
    if not cfg.get("ckpt_path"):
        aside = keep_earlier_run(output_dir)
        if aside is not None:
            rank_zero_info(
                f"{output_dir} already held a run: moved it to {aside} (to resume that run "
                "instead, pass ckpt_path=last with the same hydra.run.dir)"
            )
    record = OmegaConf.to_container(cfg, resolve=True)
    # What tells apart the data of runs whose settings cannot (a DataFrame's content).
    content_hash = getattr(datamodule, "content_hash", None)
    if content_hash is not None:
        record[DATA_HASH] = content_hash
    with atomic_open(output_dir / "config.yaml") as f:
        OmegaConf.save(OmegaConf.create(record), f)


def _build_trainer(
    cfg: DictConfig, plan: RunPlan, callbacks: Sequence[L.Callback], loggers: list[Any]
) -> L.Trainer:
    """The run's Trainer: ``cfg.trainer`` at the plan's precision, with the callbacks of
    ``cfg.callbacks``, then ``callbacks``, then the one that tunes the plan's threads."""
    # _convert_: plain lists, as older Lightning releases check for (not ListConfig).
    return instantiate(
        cfg.trainer,
        _convert_="partial",
        precision=plan.precision,
        callbacks=[
            *_instantiate_all(cfg.get("callbacks")),
            *callbacks,
            *([] if plan.tuner is None else [AdaptiveThreads(plan.tuner)]),
        ],
        logger=loggers or False,
        plugins=[AtomicCheckpointIO()],
    )


def _fit_and_evaluate(
    trainer: L.Trainer,
    module: LitForecaster,
    datamodule: Any,
    cfg: DictConfig,
    output_dir: Path,
    test: bool,
    refit: ValidatedRun | None = None,
    evaluate: bool = True,
) -> dict[str, float]:
    """Fit, then validate and (if ``test``) calibrate the intervals and test the best
    checkpoint (the final weights without one); a data split without test rows skips the
    test pass. The test pass also runs the evaluation callbacks (outliers, quantisation).
    A ``refit`` has neither: its checkpoint takes the validated run's intervals."""
    start = time.perf_counter()
    trainer.fit(
        module,
        datamodule=datamodule,
        ckpt_path=resolve_ckpt_path(cfg.get("ckpt_path"), output_dir),
    )
    fit_seconds = time.perf_counter() - start

    metrics: dict[str, float] = {}
    if refit is not None:
        saved = output_dir / CHECKPOINTS / BEST
        if refit.intervals is not None and trainer.is_global_zero and saved.is_file():
            add_to_checkpoint(saved, INTERVALS_KEY, refit.intervals)
        metrics["train/loss"] = trainer.callback_metrics["train/loss_epoch"]
    else:
        best = [
            callback.best_model_path
            for callback in trainer.checkpoint_callbacks
            if isinstance(callback, ModelCheckpoint)
            and callback.monitor
            and callback.best_model_path
        ]
        ckpt = best[0] if best else None
        for results in trainer.validate(
            module, datamodule=datamodule, ckpt_path=ckpt, verbose=False
        ):
            metrics.update(results)
        if test:
            calibrate_intervals(trainer, module, datamodule, ckpt)
        if test and evaluate and datamodule.has_split("test"):
            for results in trainer.test(
                module, datamodule=datamodule, ckpt_path=ckpt, verbose=False
            ):
                metrics.update(results)
    metrics = {key: float(value) for key, value in metrics.items()}
    metrics["train/epochs"] = float(trainer.current_epoch)
    metrics["train/fit_seconds"] = fit_seconds
    share = data_wait_share(trainer.profiler)
    if share is not None:
        metrics["train/data_wait_share"] = share
    return metrics


def _held_out_note(datamodule: Any, refit: ValidatedRun | None) -> str | None:
    """The line that says which evaluations a run skips for want of held-out rows."""
    if refit is not None:
        return (
            f"refit on every row for the {refit.epochs} epochs of {refit.path} (its learning "
            "rates replayed); no validation or test, the intervals are that run's"
        )
    if not datamodule.has_split("test"):
        return (
            "no test split (data.split test: 0): the test-split evaluations (test metrics, "
            "baselines, outliers, INT8) are skipped; the newest rows validate and calibrate"
        )
    return None


def calibrate_intervals(
    trainer: L.Trainer, module: LitForecaster, datamodule: Any, ckpt: str | None
) -> None:
    """The step after fitting that gives a checkpoint its prediction intervals: with the
    intervals callback configured, calibrate them on ``module``'s current weights (the
    best checkpoint's, just validated) and write them into the checkpoint file ``ckpt``
    under ``intervals``; the test pass then measures their coverage."""
    for callback in trainer.callbacks:
        if isinstance(callback, ConformalIntervals):
            # Lightning moves the model back to the CPU when validation ends.
            module.to(trainer.strategy.root_device)
            calibration = callback.calibrate(module, datamodule)
            if ckpt and trainer.is_global_zero:
                add_to_checkpoint(Path(ckpt), INTERVALS_KEY, calibration.to_dict())
            trainer.strategy.barrier("intervals")


# The actions Lightning's training loop reports to the profiler: fetching the next batch
# ("[<loop class>].train_dataloader_next"), and one training step (forward, backward,
# optimiser step).
_FETCH = ".train_dataloader_next"
_STEP = "run_training_batch"


def data_wait_share(profiler: Any) -> float | None:
    """The share of the training loop's time spent waiting for batches: fetch time over
    fetch plus step time, from a profiler that records durations (Lightning's
    ``SimpleProfiler``); None for one that does not, or before any step."""
    durations = getattr(profiler, "recorded_durations", None) or {}
    wait = sum(sum(times) for action, times in durations.items() if action.endswith(_FETCH))
    step = sum(durations.get(_STEP, []))
    return wait / (wait + step) if wait + step > 0 else None
