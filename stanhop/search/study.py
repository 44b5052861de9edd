"""A search: an Optuna study in its folder (SQLite), trials that train on the training
split and score on the validation split only, the worker processes that share it, and the
confirmation of the best trials with more seeds.

The folder is the study: started again, a search resumes where it stopped (trials cut
off by a crash or Ctrl-C are run again with their settings), and a larger ``trials``
extends it; finished trials are never repeated. A trial cut off by Ctrl-C queues its
settings again as it stops; one cut off by a crash is found by Optuna's heartbeat (a
running trial whose process stopped writing it) and queued again by Optuna's
:class:`~optuna.storages.RetryHeartbeatStaleTrialCallback`.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import torch
from filelock import FileLock, Timeout
from omegaconf import DictConfig
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from stanhop.runtime.quiet import silence_noise
from stanhop.search.pruning import PruneOnValidation
from stanhop.search.space import SearchSpace
from stanhop.training.compose import compose_config
from stanhop.training.train import train

STUDY_NAME = "stanhop-tune"
STORAGE_FILE = "study.db"
TRIALS_DIR = "trials"
# What a trial adds to the user's overrides: no logger, progress bar or step checkpoints,
# and none of the evaluations a test pass would run (a trial never tests).
TRIAL_OVERRIDES = (
    "logger=none",
    "callbacks.progress_bar=null",
    "++trainer.enable_progress_bar=false",
    "++trainer.enable_model_summary=false",
    "callbacks.step_checkpoint=null",
    "callbacks.outliers=null",
    "callbacks.quantization=null",
    "callbacks.intervals=null",
    "callbacks.seasonal_naive=null",
)
# The trial a trial cut off by Ctrl-C runs again under a new number.
RETRY_OF = "retry_of"
INTERRUPTED_ERROR = "interrupted by Ctrl-C; queued to run again when the command runs again"
CRASHED_ERROR = "cut off by a crash; queued to run again"
# A running trial's process writes its heartbeat every HEARTBEAT_SECONDS; a trial whose
# heartbeat is GRACE_SECONDS old was cut off by a crash.
HEARTBEAT_SECONDS = 10
GRACE_SECONDS = 30
# The validation MSEs of a complete trial's settings trained again with other seeds, a
# study attribute per trial ("confirmed_val_mse:NUMBER": {"seed": MSE}) written by
# confirm(): Optuna's storage refuses new attributes on a finished trial.
CONFIRMED = "confirmed_val_mse:"


class StudyError(ValueError):
    """A study folder that cannot be used as asked, in one line."""


@dataclass(frozen=True)
class Search:
    """What a search is: its folder, its space, the user's Hydra overrides every trial
    trains with, the sampler's seed and the user's folder of configs (None: the packaged
    configs alone) the trials compose."""

    study_dir: Path
    space: SearchSpace
    overrides: tuple[str, ...]
    seed: int
    config_dir: Path | None = None

    def identity(self) -> dict[str, Any]:
        """What must match for a later command to continue this study."""
        return {"overrides": list(self.overrides), "space": self.space.describe()}

    def compose(self, overrides: list[str]) -> DictConfig:
        return compose_config(*self.overrides, *overrides, config_dir=self.config_dir)

    def trial_overrides(
        self, params: dict[str, Any], number: int, threads: int | None = None, run: str = ""
    ) -> list[str]:
        """The overrides of trial ``number`` with ``params``, after the user's, on
        ``threads`` intra-op threads (None: ``threads=auto``); ``run`` names another run of
        the same trial (its folder ``NNNN-run``)."""
        output = self.study_dir / TRIALS_DIR / "-".join(filter(None, (f"{number:04d}", run)))
        given = [] if threads is None else [f"threads={threads}"]
        return [
            *self.space.overrides(params),
            *TRIAL_OVERRIDES,
            f"paths.output_dir={output}",
            *given,
        ]


def storage(study_dir: Path) -> optuna.storages.RDBStorage:
    with warnings.catch_warnings():
        # Optuna marks its heartbeat as experimental; it is used as its documentation shows.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # SQLite locks the file per write: workers wait for each other (timeout in
        # seconds) instead of failing with "database is locked".
        return optuna.storages.RDBStorage(
            f"sqlite:///{(study_dir / STORAGE_FILE).resolve()}",
            engine_kwargs={"connect_args": {"timeout": 120}},
            heartbeat_interval=HEARTBEAT_SECONDS,
            grace_period=GRACE_SECONDS,
            # Once: a trial that crashes its process twice is a failure of its own.
            heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1),
        )


def load_study(search: Search, sampler_seed: int | None = None) -> optuna.Study:
    """The search's study, created on first use; a :class:`StudyError` when the folder
    holds a study of another search."""
    search.study_dir.mkdir(parents=True, exist_ok=True)
    study = optuna.create_study(
        study_name=STUDY_NAME,
        storage=storage(search.study_dir),
        direction="minimize",
        load_if_exists=True,
        sampler=search.space.make_sampler(search.seed if sampler_seed is None else sampler_seed),
        pruner=search.space.make_pruner(),
    )
    stored = study.user_attrs.get("search")
    if stored is None:
        study.set_user_attr("search", search.identity())
    elif stored != search.identity():
        raise StudyError(
            f"{search.study_dir} holds a study of other settings or another search space "
            f"(overrides {' '.join(stored['overrides']) or 'none'}, search file for model "
            f"{stored['space']['model']}); give another --study-dir, or the same overrides "
            "and search file to continue it"
        )
    return study


def retried(trials: list[FrozenTrial]) -> set[int]:
    """The numbers of the trials queued again under another number: cut off by Ctrl-C
    (:data:`RETRY_OF`) or by a crash (Optuna's retry history)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        history = RetryHeartbeatStaleTrialCallback.retry_history
        numbers = {n for t in trials for n in history(t)}
    return numbers | {t.user_attrs[RETRY_OF] for t in trials if RETRY_OF in t.user_attrs}


def counted(study: optuna.Study) -> int:
    """The trials that use up the budget: finished (complete, pruned, failed) or running,
    but not those a crash or Ctrl-C cut off (they are queued to run again)."""
    trials = study.get_trials(deepcopy=False)
    again = retried(trials)
    return sum(
        trial.state != TrialState.WAITING
        and not (trial.state == TrialState.FAIL and trial.number in again)
        for trial in trials
    )


def requeue_crashed(study: optuna.Study) -> int:
    """Have Optuna fail the trials a crash left running and queue their settings again
    (:func:`optuna.storages.fail_stale_trials`); returns how many trials wait to run
    again. Only the command holding the study's lock calls this, so a running trial is a
    dead one: its heartbeat is waited for to go stale (at most :data:`GRACE_SECONDS`)."""

    def running() -> list[FrozenTrial]:
        return study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))

    deadline = time.monotonic() + GRACE_SECONDS + HEARTBEAT_SECONDS
    if running():
        print(
            f"waiting up to {GRACE_SECONDS + HEARTBEAT_SECONDS} s for the trials a crash cut "
            "off to be queued again",
            flush=True,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
        while running() and time.monotonic() < deadline:
            time.sleep(1)
            optuna.storages.fail_stale_trials(study)
    waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    return len(retried(waiting))


@contextlib.contextmanager
def study_lock(study_dir: Path) -> Iterator[None]:
    """Hold the study folder for one command at a time."""
    study_dir.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(study_dir / "study.lock", timeout=0):
            yield
    except Timeout:
        raise StudyError(
            f"{study_dir} is in use by another stanhop-tune; wait for it, or give another "
            "--study-dir"
        ) from None


@contextlib.contextmanager
def ctrl_c_raised() -> Iterator[None]:
    """Ctrl-C during a training as the KeyboardInterrupt it is: Lightning answers it with
    ``sys.exit(1)``, raised while handling it."""
    try:
        yield
    except SystemExit as err:
        if isinstance(err.__context__, KeyboardInterrupt):
            raise KeyboardInterrupt from None
        raise


def objective(search: Search, trial: optuna.Trial, threads: int | None = None) -> float:
    """Train one trial's settings on the training split, on ``threads`` intra-op threads
    (None: ``threads=auto``); its best validation MSE.

    Validation only (``train(test=False)``): the test windows are never built. The
    trial's folder keeps its config and metrics; its checkpoints are deleted, as
    nothing reads them again and a long search would fill the disk with them.
    """
    params = search.space.suggest(trial)
    cfg = search.compose(search.trial_overrides(params, trial.number, threads))
    trial.set_user_attr("seed", int(cfg.seed))
    output = Path(cfg.paths.output_dir)
    try:
        with ctrl_c_raised():
            metrics = train(cfg, test=False, callbacks=[PruneOnValidation(trial)])
    except ValueError as err:  # settings the model rejects: a failed trial, with why
        trial.set_user_attr("error", str(err).splitlines()[0])
        raise
    except KeyboardInterrupt:
        # Optuna records the trial as failed; its settings are queued to run again.
        trial.set_user_attr("error", INTERRUPTED_ERROR)
        trial.study.enqueue_trial(params, user_attrs={RETRY_OF: trial.number})
        raise
    finally:
        shutil.rmtree(output / "checkpoints", ignore_errors=True)
    trial.set_user_attr("fit_seconds", round(metrics["train/fit_seconds"], 2))
    return metrics["val/mse"]


def confirm(
    search: Search, study: optuna.Study, top: int, seeds: int, threads: int | None = None
) -> int:
    """Train the settings of the ``top`` complete trials of lowest validation MSE again
    with ``seeds`` other seeds each (the trial's seed + 1, + 2, …), validation only, and
    store each run's validation MSE with its trial; returns how many runs it trained.

    On a small validation split one seed's MSE ranks settings by luck as much as by merit
    (the best of many trials is the luckiest as often as the best); the mean over seeds
    ranks them on what the settings do. A run already stored is not trained again, so an
    interrupted confirmation resumes.
    """
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    trained = 0
    for trial in sorted(complete, key=lambda t: t.value)[:top]:
        scores = dict(confirmations(study).get(trial.number, {}))
        first = int(trial.user_attrs["seed"]) + 1
        for seed in range(first, first + seeds):
            if str(seed) in scores:
                continue
            overrides = search.trial_overrides(trial.params, trial.number, threads, f"seed{seed}")
            cfg = search.compose([*overrides, f"seed={seed}"])
            try:
                with ctrl_c_raised():
                    metrics = train(cfg, test=False)
            finally:
                shutil.rmtree(Path(cfg.paths.output_dir) / "checkpoints", ignore_errors=True)
            scores[str(seed)] = metrics["val/mse"]
            study.set_user_attr(f"{CONFIRMED}{trial.number}", scores)
            trained += 1
    return trained


def confirmations(study: optuna.Study) -> dict[int, dict[str, float]]:
    """The validation MSEs :func:`confirm` stored, by trial number and seed."""
    return {
        int(key.removeprefix(CONFIRMED)): value
        for key, value in study.user_attrs.items()
        if key.startswith(CONFIRMED)
    }


def _stop_at(total: int):
    def callback(study: optuna.Study, trial: FrozenTrial) -> None:
        if counted(study) >= total:
            study.stop()

    return callback


def work(
    search: Search, worker: int, trials: int, timeout: float | None, threads: int | None
) -> None:
    """One worker: run trials of the shared study until it counts ``trials`` or
    ``timeout`` seconds have passed (a running trial finishes).

    Its sampler's seed is drawn from the search's seed, the worker's index and the
    trials already in the study, so neither two workers nor a resumed search draw the
    same settings again.
    """
    silence_noise()
    if threads is not None:
        torch.set_num_threads(threads)
    existing = len(
        optuna.load_study(study_name=STUDY_NAME, storage=storage(search.study_dir)).trials
    )
    seed = int(np.random.SeedSequence([search.seed, worker, existing]).generate_state(1)[0])
    study = load_study(search, sampler_seed=seed)
    remaining = trials - counted(study)
    if remaining <= 0:
        return
    study.optimize(
        lambda trial: objective(search, trial, threads),
        n_trials=remaining,
        timeout=timeout,
        catch=(ValueError,),
        callbacks=[_stop_at(trials)],
    )


def run_search(
    search: Search,
    trials: int,
    timeout: float | None,
    workers: int,
    threads: int | None,
    confirm_top: int = 0,
    confirm_seeds: int = 2,
) -> optuna.Study:
    """Run the search until its study counts ``trials`` (over all commands run on the
    folder) or ``timeout`` seconds have passed, then :func:`confirm` its ``confirm_top``
    best trials with ``confirm_seeds`` more seeds each (in this process); the study.

    One worker runs in this process, on ``threads`` threads (None: each trial chooses
    as ``threads=auto`` does); more are started as processes of their own, each with
    ``threads`` threads (OMP_NUM_THREADS), sharing the study through its SQLite file.
    """
    with study_lock(search.study_dir):
        requeued = requeue_crashed(load_study(search))
        if requeued:
            print(f"running again {requeued} trial(s) cut off before finishing", flush=True)
        if workers == 1:
            work(search, 0, trials, timeout, threads)
        else:
            _run_workers(search, trials, timeout, workers, threads)
        study = load_study(search)
        if confirm_top:
            confirm(search, study, confirm_top, confirm_seeds, threads)
        return load_study(search)


def _run_workers(
    search: Search, trials: int, timeout: float | None, workers: int, threads: int
) -> None:
    context = multiprocessing.get_context("spawn")
    processes = []
    before = os.environ.get("OMP_NUM_THREADS")
    # A spawned process reads OMP_NUM_THREADS from the environment it starts with.
    os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        for worker in range(workers):
            process = context.Process(
                target=work, args=(search, worker, trials, timeout, threads), daemon=False
            )
            process.start()
            processes.append(process)
    finally:
        if before is None:
            del os.environ["OMP_NUM_THREADS"]
        else:
            os.environ["OMP_NUM_THREADS"] = before
    try:
        for process in processes:
            process.join()
    except KeyboardInterrupt:
        # The workers got the same Ctrl-C and mark their running trials; wait for them.
        for process in processes:
            process.join()
        raise
    failed = [str(i) for i, p in enumerate(processes) if p.exitcode != 0]
    if failed:
        raise RuntimeError(f"worker(s) {', '.join(failed)} stopped with an error (traceback above)")
