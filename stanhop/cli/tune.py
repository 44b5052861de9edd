"""The tuning command (``stanhop-tune``, or ``python -m stanhop.tune``): search a model's
settings on the validation split, within a budget of trials and time::

    stanhop-tune data=etth1 data.out_len=24 model=stanhop --trials 40 --timeout 45m
    stanhop-tune data=csv data.path=my.csv model=dlinear --workers 2
    stanhop-tune data=ili data.out_len=24 --trials 20 --confirm 5   # small validation split

Hydra overrides choose the data, the model and anything every trial shares (as for
``python train.py``); the search file (``stanhop/search/spaces/MODEL.yaml`` unless ``--search``)
names the settings searched. Every trial is :func:`stanhop.training.train.train` in its
validation-only mode. The study folder keeps the study (SQLite), the trials table
(``trials.csv``) and the plot (``search.png``); the best trial becomes the experiment file
``STUDY/conf/experiment/tuned/NAME.yaml`` (or under ``--experiment-root``), and the
command that trains and tests it is printed, to paste where this one ran. With
``--config-dir DIR`` the trials read the user's configs in DIR before the packaged ones,
and the experiment file goes there.

Mistakes (an unknown model, a bad search file, a bad duration) are one line
``error: …`` with exit status 2.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
import warnings
from pathlib import Path
from typing import NoReturn

import optuna
from hydra.utils import instantiate
from omegaconf import DictConfig

from stanhop.cli.common import CommandParser, debugging, show_warning
from stanhop.cli.train import describe, user_error
from stanhop.cli.tune_results import (
    best_trial,
    check_writable,
    experiment_text,
    mean_val_mse,
    parse_overrides,
    plot_search,
    trials_table,
    unconfirmed_better,
    write_experiment,
    write_table,
)
from stanhop.runtime.quiet import silence_noise
from stanhop.search.space import SPACES_DIR, SearchSpaceError, load_space
from stanhop.search.study import (
    Search,
    StudyError,
    confirmations,
    counted,
    load_study,
    run_search,
)
from stanhop.training.compose import CONF_DIR, compose_config
from stanhop.training.overrides import UsageError, check_command_line

DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def parse_duration(text: str) -> float:
    """Seconds in ``45m``, ``2h``, ``1h30m``, ``90s`` or a plain number of seconds."""
    try:
        seconds = float(text)
    except ValueError:
        match = DURATION.fullmatch(text.strip())
        if not match or not any(match.groups()):
            raise UsageError(
                f"--timeout {text}: give a duration such as 45m, 2h, 1h30m or 900 (seconds)"
            ) from None
        hours, minutes, secs = (int(g or 0) for g in match.groups())
        seconds = hours * 3600 + minutes * 60 + secs
    if not 0 < seconds < float("inf"):
        raise UsageError(f"--timeout {text}: give a positive duration, e.g. 45m")
    return seconds


def fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = CommandParser(
        "stanhop-tune",
        "Search a model's settings on the validation split.",
        "Example: stanhop-tune data=etth1 data.out_len=24 --trials 40 --timeout 45m",
    )
    p.add_argument("overrides", nargs="*", help="Hydra overrides, as for python train.py")
    p.add_argument(
        "--search", type=Path, help="search space file (default: the packaged spaces/MODEL.yaml)"
    )
    p.add_argument(
        "--config-dir",
        type=Path,
        help="your folder of configs, read before the packaged ones (as stanhop-train's)",
    )
    p.add_argument(
        "--trials", type=int, default=40, help="trials in the study, all commands together"
    )
    p.add_argument("--timeout", default=None, help="no new trial after this long, e.g. 45m, 2h")
    p.add_argument("--workers", type=int, default=1, help="processes sharing the study")
    p.add_argument(
        "--threads",
        type=int,
        help="threads per worker (default: cores / workers; one worker: as threads=auto)",
    )
    p.add_argument("--name", help="name of the tuned experiment (default MODEL_DATA_hHORIZON)")
    p.add_argument("--study-dir", type=Path, help="the study's folder (default outputs/tune/NAME)")
    p.add_argument(
        "--experiment-root",
        type=Path,
        help="the best settings go to ROOT/experiment/tuned/NAME.yaml (default: the "
        "--config-dir, else STUDY_DIR/conf)",
    )
    p.add_argument("--seed", type=int, default=0, help="the sampler's seed")
    p.add_argument(
        "--confirm",
        type=int,
        default=0,
        metavar="K",
        help="train the K best trials again with more seeds and choose by the mean "
        "(small validation splits)",
    )
    p.add_argument(
        "--confirm-seeds", type=int, default=2, metavar="N", help="seeds per confirmed trial"
    )
    args = p.parse_intermixed_args(argv)
    if args.confirm < 0:
        fail(f"--confirm {args.confirm}: give 0 (none) or more")
    for option in ("trials", "workers", "threads", "confirm_seeds"):
        value = getattr(args, option)
        if value is not None and value < 1:
            fail(f"--{option.replace('_', '-')} {value}: give at least 1")
    return args


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _default_name(cfg: DictConfig, choices: DictConfig) -> str:
    data = choices["data"]
    if data == "csv":
        data = re.sub(r"[^A-Za-z0-9_]+", "_", Path(str(cfg.data.path)).stem)
    return f"{choices['model']}_{data}_h{cfg.data.out_len}"


def prepare(args: argparse.Namespace) -> tuple[Search, str, Path, dict]:
    """Check the command line before anything runs: the search, the experiment's name,
    the path of its file and the configuration's group choices. Raises
    :class:`UsageError` or a data error."""
    overrides = list(args.overrides)
    if args.experiment_root and args.config_dir and args.experiment_root != args.config_dir:
        # the printed command can name one folder of configs
        raise UsageError(
            f"--experiment-root {args.experiment_root} and --config-dir {args.config_dir}: "
            "give one of them (the experiment file goes into the --config-dir)"
        )
    # First what a search cannot take (a sweep): the training check would advise -m.
    parse_overrides(overrides)
    check_command_line(overrides, args.config_dir)
    cfg = compose_config(
        *overrides,
        "paths.output_dir=unused",
        config_dir=args.config_dir,
        return_hydra_config=True,
    )
    choices = cfg.hydra.runtime.choices
    model = choices["model"]
    search_file = args.search or _packaged_search(model, args.config_dir)
    if search_file is None:
        raise UsageError(
            f"model={model} has no search file search/{model}.yaml; write one (docs/tuning.md) "
            "and pass --search FILE"
        )
    space = load_space(search_file)
    if space.model != model:
        raise UsageError(
            f"search file {search_file} is for model={space.model}, not model={model}; give "
            f"model={space.model} or another --search"
        )
    check_command_line([*overrides, *space.example_overrides()], args.config_dir)
    # The data once, before any trial: a missing or malformed file stops the command here.
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")
    name = args.name or _default_name(cfg, choices)
    study_dir = args.study_dir or Path("outputs") / "tune" / name
    search = Search(study_dir, space, tuple(overrides), args.seed, args.config_dir)
    root = args.experiment_root or args.config_dir or study_dir / "conf"
    path = root / "experiment" / "tuned" / f"{name}.yaml"
    check_writable(path, study_dir)
    return search, name, path, dict(choices)


def _shown(path: Path) -> Path:
    """``path`` relative to the working directory when it lies below it."""
    cwd = Path.cwd()
    resolved = path.resolve()
    return resolved.relative_to(cwd) if resolved.is_relative_to(cwd) else path


def _packaged_search(model: str, config_dir: Path | None) -> Path | None:
    """``search/MODEL.yaml`` of the user's configs, else the packaged space of ``model``,
    if any."""
    mine = None if config_dir is None else config_dir / "search" / f"{model}.yaml"
    if mine is not None and mine.is_file():
        return mine
    packaged = SPACES_DIR / f"{model}.yaml"
    return packaged if packaged.is_file() else None


def train_command(root: Path, name: str) -> str:
    """The command that trains ``experiment=tuned/NAME`` from ``root``'s file, to paste
    in the folder this command runs in."""
    start = "python train.py" if Path("train.py").is_file() else "stanhop-train"
    if root.resolve() != CONF_DIR:
        start += f" --config-dir {shlex.quote(str(_shown(root)))}"
    return f"{start} experiment=tuned/{name}"


def main(argv: list[str] | None = None) -> None:
    silence_noise()
    warnings.showwarning = show_warning
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        timeout = None if args.timeout is None else parse_duration(args.timeout)
        search, name, path, choices = prepare(args)
        # One worker without --threads: each trial measures its threads (threads=auto).
        threads = args.threads or (None if args.workers == 1 else max(1, _cores() // args.workers))
        try:
            study = run_search(
                search,
                args.trials,
                timeout,
                args.workers,
                threads,
                args.confirm,
                args.confirm_seeds,
            )
        except KeyboardInterrupt:
            interrupted(search)
    except KeyboardInterrupt:  # while the command line and the data were checked
        print(
            "interrupted before the search started; run the command again to start it",
            file=sys.stderr,
        )
        sys.exit(130)
    except (UsageError, SearchSpaceError, StudyError) as err:
        fail(str(err))
    except Exception as err:
        cause = user_error(err)
        if cause is None or debugging(args):
            raise
        fail(f"{describe(cause)} (--debug shows the traceback)")
    report(search, study, name, path, choices)


def interrupted(search: Search) -> NoReturn:
    """After Ctrl-C: write the trials table so far and say how to go on; exit status 130."""
    study = load_study(search)
    write_table(trials_table(study), search.study_dir / "trials.csv")
    print(
        f"interrupted: {search.study_dir} keeps {counted(study)} trial(s), listed in "
        f"{search.study_dir / 'trials.csv'}; run the same command again to go on where it "
        "stopped (a trial cut off runs again with its settings)",
        file=sys.stderr,
    )
    sys.exit(130)


def report(search: Search, study: optuna.Study, name: str, path: Path, choices: dict) -> None:
    """Write the table, the plot and the best trial's experiment file; print where."""
    table = trials_table(study)
    write_table(table, search.study_dir / "trials.csv")
    plot_search(table, search.study_dir / "search.png", f"{name}: {len(table)} trials")
    states = table.state.value_counts().to_dict() if len(table) else {}
    print(
        f"study {search.study_dir}: {len(table)} trials ("
        + ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
        + f"); table {search.study_dir / 'trials.csv'}, plot {search.study_dir / 'search.png'}"
    )
    best = best_trial(study)
    if best is None:
        print("warning: no trial completed, so no settings were written", file=sys.stderr)
        sys.exit(1)
    command = train_command(path.parents[2], name)
    scores = confirmations(study).get(best.number, {})
    write_experiment(path, experiment_text(search, best, choices, command, scores))
    settings = " ".join(f"{k}={v}" for k, v in search.space.settings(best.params).items())
    mean = (
        f" (mean {mean_val_mse(best, scores):.6g} over {len(scores) + 1} seeds)" if scores else ""
    )
    print(f"best: trial {best.number}, validation MSE {best.value:.6g}{mean}: {settings}")
    later = unconfirmed_better(study, best)
    if later:
        numbers = ", ".join(str(t.number) for t in later)
        print(
            f"warning: trial(s) {numbers} scored below that mean with one seed but were not "
            "confirmed; run the command again with --confirm to weigh them",
            file=sys.stderr,
        )
    print(f"written to {_shown(path)}")
    print(f"train and test it: {command}")
