"""The training command (``stanhop-train``, or ``python train.py``): Hydra overrides in,
a trained run folder out. The work is done by :func:`stanhop.training.train.train`.

Mistakes in data or settings are one line ``error: …`` with exit status 2 and no
traceback (``--debug`` or ``STANHOP_DEBUG=1`` shows it; see :mod:`stanhop.cli.common`);
so are mistyped settings and output folders that cannot be written, found before anything
starts (:mod:`stanhop.training.overrides`). Warnings are one line each.
"""

from __future__ import annotations

import inspect
import os
import shlex
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import hydra
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig
from omegaconf.errors import MissingMandatoryValue
from rich.console import Console
from rich.table import Table

from stanhop.cli.common import DEBUG_ENV, debugging, show_warning
from stanhop.data import from_csv
from stanhop.files.run_dir import BEST, CHECKPOINTS
from stanhop.runtime.quiet import silence_noise
from stanhop.training.callbacks.seasonal_naive import verdict
from stanhop.training.compose import CONF_DIR, CONFIG_NAME, hydra_configs
from stanhop.training.overrides import UsageError, check_command_line, given_config_dir
from stanhop.training.train import train

DEBUG_FLAG = "--debug"
# Mistakes in data or settings: reported in one line, exit status 2, no traceback.
USER_ERRORS = (ValueError, FileNotFoundError, MissingMandatoryValue)


def user_error(err: BaseException) -> BaseException | None:
    """The user-caused error behind ``err`` (Hydra's instantiate wraps the original as
    ``__cause__``), or None for a bug, whose traceback should be shown."""
    while err is not None:
        if isinstance(err, USER_ERRORS):
            return err
        err = err.__cause__
    return None


def describe(err: BaseException) -> str:
    if isinstance(err, MissingMandatoryValue):
        return f"{err.full_key} is required; set it on the command line, e.g. {err.full_key}=..."
    return str(err).splitlines()[0]


def forecast_hint(
    run_dir: Path, data: Path | None, command: str, options: Sequence[str] = ()
) -> list[str]:
    """The lines that end a run: where its best checkpoint is and the command (with
    ``options``) that forecasts with it. Only paths that exist are named: without a best
    checkpoint there is no hint, and without a data file (synthetic data) the input is a
    placeholder."""
    best = run_dir / CHECKPOINTS / BEST
    if not best.is_file():
        return []
    history = shlex.quote(str(data)) if data is not None and data.is_file() else "HISTORY.csv"
    words = [command, shlex.quote(str(run_dir)), history, *map(shlex.quote, options)]
    lines = [f"best checkpoint: {best}", "forecast: " + " ".join(words)]
    if history == "HISTORY.csv":
        lines[-1] += "  (HISTORY.csv: your history, with the columns the run trained on)"
    return lines


def _shown(path: Path) -> Path:
    """``path`` relative to the working directory when it lies below it (Hydra makes
    the run folder absolute), so the printed commands stay short."""
    cwd = Path.cwd()
    return path.relative_to(cwd) if path.is_relative_to(cwd) else path


def _forecast_command() -> str:
    """The forecast command matching how this one was started."""
    return "python forecast.py" if Path(sys.argv[0]).name == "train.py" else "stanhop-forecast"


# Reading options of conf/data/csv.yaml → the forecast option that reads the same way.
FORECAST_OPTIONS = {"date_column": "--date-column", "nan_policy": "--nan-policy"}
FORECAST_OPTIONS |= {"sep": "--sep", "decimal": "--decimal"}
# Their defaults, those of from_csv (which are conf/data/csv.yaml's).
READING_DEFAULTS = {
    key: inspect.signature(from_csv).parameters[key].default for key in FORECAST_OPTIONS
}


def _forecast_options(cfg: DictConfig) -> list[str]:
    """The forecast options that read a file as the run's data was read."""
    options = []
    for key, option in FORECAST_OPTIONS.items():
        value = cfg.data.get(key, READING_DEFAULTS[key])
        if value != READING_DEFAULTS[key]:
            options += [option, str(value)]
    return options


def resume_hint(run_dir: Path) -> str:
    """How to go on after a run in ``run_dir`` was interrupted."""
    last = run_dir / "checkpoints" / "last.ckpt"
    if not last.is_file():
        return f"no checkpoint was saved in {run_dir} yet; run the same command to start over"
    return (
        f"the run can go on from {last}: run the same command with ckpt_path=last (and the "
        f"same hydra.run.dir={_shown(run_dir)})"
    )


def _data_file(cfg: DictConfig) -> Path | None:
    """The CSV a run trained on: ``data.path``, or a benchmark's downloaded file."""
    if cfg.data.get("path"):
        return Path(cfg.data.path)
    source = cfg.data.get("source") or {}
    if source.get("name") and source.get("root"):
        from stanhop.data import get_benchmark

        return Path(source.root) / get_benchmark(source.name).filename
    return None


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name=CONFIG_NAME)
def _run(cfg: DictConfig) -> float | None:
    try:
        metrics = train(cfg)
    except (KeyboardInterrupt, SystemExit) as err:
        # Lightning answers Ctrl+C during fit with sys.exit(1), raised while handling it.
        if not isinstance(err, KeyboardInterrupt) and not isinstance(
            err.__context__, KeyboardInterrupt
        ):
            raise
        print(f"interrupted: {resume_hint(Path(cfg.paths.output_dir))}", file=sys.stderr)
        sys.exit(130)
    except Exception as err:
        cause = user_error(err)
        if cause is None or debugging():
            raise
        print(f"error: {describe(cause)} (--debug shows the traceback)", file=sys.stderr)
        sys.exit(2)
    if rank_zero_only.rank != 0:
        return metrics.get("val/mse")
    table = Table(title="metrics")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in sorted(metrics.items()):
        table.add_row(key, f"{value:.6g}")
    console = Console()
    console.print(table)
    line = verdict(metrics)
    if line:
        print(line, file=sys.stderr if line.startswith("warning:") else sys.stdout)
    run_dir = _shown(Path(cfg.paths.output_dir))
    console.print(f"written to {run_dir}/metrics.json", soft_wrap=True, highlight=False)
    hint = forecast_hint(run_dir, _data_file(cfg), _forecast_command(), _forecast_options(cfg))
    for line in hint:
        console.print(line, soft_wrap=True, highlight=False, markup=False)
    # Returned so Hydra sweepers that optimise a value can use it.
    return metrics.get("val/mse")


def main() -> None:
    """Check the command line, then run Hydra's main with it. ``--debug``, the switch of
    every command, is taken off the Hydra overrides and passed on as ``STANHOP_DEBUG``, so
    the extra processes of a multi-GPU run see it too."""
    if DEBUG_FLAG in sys.argv[1:]:
        sys.argv = [arg for arg in sys.argv if arg != DEBUG_FLAG]
        os.environ[DEBUG_ENV] = "1"
    silence_noise()
    warnings.showwarning = show_warning
    try:
        check_command_line(sys.argv[1:])
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    with hydra_configs(given_config_dir(sys.argv[1:])):
        _run()
