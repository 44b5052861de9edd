"""Training from Python: ``result = stanhop.fit(df, horizon=24)``, then
``result.forecaster.predict(df)``.

The same configuration, checks and run folder as the training command, on a pandas
DataFrame instead of a file; the trained model comes back as a
:class:`~stanhop.forecast.Forecaster` whose ``predict`` takes frames too and answers in
the layout it is given (wide in, wide out; long in, long out)."""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import OmegaConf

from stanhop.files.run_dir import BEST, CHECKPOINTS
from stanhop.forecast import Forecaster
from stanhop.runtime.quiet import LIGHTNING_LOGGERS, silence_noise
from stanhop.training.compose import compose_config
from stanhop.training.overrides import UsageError, check_command_line
from stanhop.training.train import train

# The settings of data/csv.yaml that say how to read a file, not what the data is.
_FILE_ONLY = ("_target_", "path", "sep", "decimal")
LIGHTNING_PACKAGES = ("lightning.pytorch", "lightning.fabric")
# Settings that the frame or fit's own arguments take the place of, with what to do.
_REFUSED = {
    "data.path": "fit trains on the DataFrame it is given; drop data.path",
    "data.sep": "a DataFrame has no separator to read; drop data.sep",
    "data.decimal": "a DataFrame's numbers are taken as they are; convert text columns "
    "with pandas.to_numeric first",
    "hydra": "fit takes no Hydra settings; give the run's folder as output_dir=",
    "paths.output_dir": "give the run's folder as output_dir=",
    "refit_from": "pass refit=True to refit on every row",
}


@dataclass(frozen=True)
class FitResult:
    """What :func:`fit` returns: the forecaster of the trained model, the run's metrics
    and its folder. ``forecaster, metrics = fit(...)`` unpacks the first two."""

    forecaster: Forecaster
    metrics: dict[str, float]
    run_dir: Path
    # the validated run a refit took its epochs and intervals from (refit=True)
    validated_dir: Path | None = field(default=None)

    def __iter__(self) -> Iterator[Any]:
        return iter((self.forecaster, self.metrics))


def _listed(values: str | Sequence[str]) -> str:
    values = [values] if isinstance(values, str) else list(values)
    return "[" + ",".join(str(v) for v in values) + "]"


def fit_overrides(
    *,
    model: str = "stanhop",
    horizon: int | None = None,
    input_len: int | None = None,
    targets: str | Sequence[str] | None = None,
    calendar: str | Sequence[str] | None = None,
    future: str | Sequence[str] | None = None,
    max_epochs: int | None = None,
    verbose: bool = False,
    overrides: Sequence[str] = (),
) -> list[str]:
    """The Hydra overrides :func:`fit`'s keywords stand for, then ``overrides`` (which
    win where both set something). Raises :class:`UsageError` for settings a frame takes
    the place of."""
    for override in overrides:
        key = override.lstrip("+~").split("=", 1)[0]
        for refused, advice in _REFUSED.items():
            if key == refused or key.startswith((refused + ".", refused + "/")):
                raise UsageError(f"{override}: {advice}")
    settings = ["data=csv", f"model={model}"]
    given = {
        "data.out_len": horizon,
        "data.in_len": input_len,
        "trainer.max_epochs": max_epochs,
    }
    settings += [f"{key}={value}" for key, value in given.items() if value is not None]
    lists = {"data.targets": targets, "data.calendar": calendar, "data.future": future}
    settings += [f"{key}={_listed(value)}" for key, value in lists.items() if value is not None]
    if not verbose:
        settings += [
            "++callbacks.progress_bar=null",
            "++trainer.enable_progress_bar=false",
            "++trainer.enable_model_summary=false",
        ]
    return [*settings, *overrides]


def _default_output_dir() -> Path:
    """A new folder under ``outputs/fit``, ``DATE_TIME/NANOSECONDS`` of one reading of the
    clock, made here (an exclusive ``mkdir``), so two fits started at once never share one."""
    root = Path("outputs") / "fit"
    while True:
        seconds, nanoseconds = divmod(time.time_ns(), 10**9)
        stamp = time.strftime("%Y-%m-%d_%H-%M-%S", time.localtime(seconds))
        folder = root / stamp / f"{nanoseconds:09d}"
        try:
            folder.mkdir(parents=True)
        except FileExistsError:
            continue
        return folder


@contextlib.contextmanager
def _quiet(verbose: bool) -> Iterator[None]:
    """Lightning's informational lines and third-party notices hidden unless ``verbose``;
    stanhop's warnings about the data still show."""
    silence_noise()
    if verbose:
        yield
        return
    # the packages' own loggers too: seeding, for one, logs through lightning.fabric's
    loggers = [logging.getLogger(n) for n in (*LIGHTNING_LOGGERS, *LIGHTNING_PACKAGES)]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"(?!stanhop)")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(?!stanhop)")
        for logger in loggers:
            logger.setLevel(logging.WARNING)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


def fit(
    df: pd.DataFrame,
    *,
    model: str = "stanhop",
    horizon: int | None = None,
    input_len: int | None = None,
    targets: str | Sequence[str] | None = None,
    calendar: str | Sequence[str] | None = None,
    future: str | Sequence[str] | None = None,
    max_epochs: int | None = None,
    output_dir: str | Path | None = None,
    evaluate: bool = False,
    refit: bool = False,
    verbose: bool = False,
    config_dir: str | Path | None = None,
    overrides: Sequence[str] = (),
) -> FitResult:
    """Train ``model`` on ``df`` and return a :class:`FitResult` (``.forecaster``,
    ``.metrics``, ``.run_dir``; ``forecaster, metrics = fit(...)`` works too).

    ``df`` is wide (a timestamp column, or a DatetimeIndex, and one numeric column per
    series) or long (``unique_id, ds, y``; Nixtla's layout), detected from its columns and
    validated as the training command validates a CSV file. The keywords are the settings
    people change most, each a Hydra override of ``stanhop-train`` (None: the config's, so
    an experiment file keeps its own): ``horizon`` (``data.out_len``, 24 by default;
    neuralforecast's ``h``), ``input_len`` (``data.in_len``, 96; ``input_size``),
    ``targets`` (the series to forecast; the others are past covariates), ``calendar``
    (calendar features known over the horizon), ``future`` (covariates known over the
    horizon; in a long frame, extra columns shared by every series), ``max_epochs``;
    ``overrides`` (e.g. ``["hopfield=softmax", "data.split={train: 0.9, val: 0.1, test:
    0}"]``) set anything else and win over the keywords. ``config_dir`` is a folder of
    your own configs, read before the packaged ones.

    The run trains, validates and calibrates its prediction intervals; the test split's
    evaluations (test metrics, seasonal naive, outliers, INT8) run only with
    ``evaluate=True``. ``refit=True`` then trains the same model again on every row, for
    the epochs the validated run chose, keeping its intervals: the forecaster and
    ``run_dir`` are the refit's, the metrics the validated run's with the refit's as
    ``refit/...``. The files go to ``output_dir``, by default a new folder under
    ``outputs/fit``; an earlier run there is moved aside as the command does. Lightning's
    progress and notices show only with ``verbose=True``.

    The same seed and settings on the same data train the same weights as the command.
    Raises ``ValueError`` (:class:`~stanhop.training.overrides.UsageError`,
    :class:`~stanhop.data.DataError`, …) in one line for mistyped settings and bad data.
    """
    settings = fit_overrides(
        model=model,
        horizon=horizon,
        input_len=input_len,
        targets=targets,
        calendar=calendar,
        future=future,
        max_epochs=max_epochs,
        verbose=verbose,
        overrides=overrides,
    )
    check_command_line(settings, Path(config_dir) if config_dir is not None else None)
    run_dir = Path(output_dir) if output_dir is not None else _default_output_dir()
    run_dir = run_dir.resolve()
    with _quiet(verbose):
        metrics = _train_frame(df, settings, run_dir, config_dir, evaluate)
        if not refit:
            return FitResult(Forecaster.load(run_dir / CHECKPOINTS / BEST), metrics, run_dir)
        refit_dir = run_dir.with_name(run_dir.name + "-refit")
        refitted = _train_frame(
            df, [*settings, f"refit_from={run_dir}"], refit_dir.resolve(), config_dir, False
        )
    metrics |= {f"refit/{key.split('/', 1)[1]}": value for key, value in refitted.items()}
    forecaster = Forecaster.load(refit_dir / CHECKPOINTS / BEST)
    return FitResult(forecaster, metrics, refit_dir.resolve(), validated_dir=run_dir)


def _train_frame(
    df: pd.DataFrame,
    settings: list[str],
    run_dir: Path,
    config_dir: str | Path | None,
    evaluate: bool,
) -> dict[str, float]:
    """One training run of ``settings`` on ``df`` into ``run_dir``."""
    # data.path is required by data/csv.yaml; the frame takes its place.
    cfg = compose_config(
        *settings, f"paths.output_dir={run_dir}", "data.path=DataFrame", config_dir=config_dir
    )
    from stanhop.data.datamodule import from_csv

    options: dict[str, Any] = OmegaConf.to_container(cfg.data, resolve=True)
    datamodule = from_csv(df, **{k: v for k, v in options.items() if k not in _FILE_ONLY})
    return train(cfg, datamodule, evaluate=evaluate)
