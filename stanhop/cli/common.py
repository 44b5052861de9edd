"""What every console command shares: one argument-parser base, one debug switch, one set of
history-input options, and one way of reporting errors and warnings.

An error a user can cause is one line ``error: …`` on standard error with exit status 2
and no traceback; a warning is one line ``warning: …``. ``--debug`` (or the environment
variable ``STANHOP_DEBUG=1``, which also reaches the extra processes of a multi-GPU run)
shows the traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable
from typing import NoReturn

from stanhop.data import NAN_POLICIES, DataWarning
from stanhop.forecast.formats import INPUT_FORMATS
from stanhop.runtime.quiet import silence_noise

DEBUG_ENV = "STANHOP_DEBUG"


class CommandParser(argparse.ArgumentParser):
    """argparse for a stanhop command: usage errors as one line with exit status 2, the
    ``--debug`` switch, and ``examples`` shown after the options by ``--help``."""

    def __init__(self, prog: str, description: str, examples: str | None = None) -> None:
        super().__init__(
            prog=prog,
            description=description,
            epilog=examples,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        self.add_argument(
            "--debug",
            action="store_true",
            help=f"show the traceback of errors instead of one line (also {DEBUG_ENV}=1)",
        )

    def error(self, message: str) -> NoReturn:
        print(f"error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def add_checkpoint_argument(parser: argparse.ArgumentParser) -> None:
    """The model to use, as every command that reads a checkpoint takes it."""
    parser.add_argument(
        "checkpoint",
        metavar="CHECKPOINT",
        help="a .ckpt file of a training run, or the run's folder (its checkpoints/best.ckpt)",
    )


def add_history_options(parser: argparse.ArgumentParser, what: str) -> None:
    """The options that say how to read the history CSV ``what`` (``INPUT``, ``DATA``):
    ``--date-column``, ``--nan-policy``, ``--format``, ``--sep``, ``--decimal`` and
    ``--strict``, the same on every command that reads one."""
    parser.add_argument(
        "--date-column",
        metavar="NAME",
        help=f"the timestamp column of a wide {what} (default: the first column)",
    )
    parser.add_argument(
        "--nan-policy",
        choices=NAN_POLICIES,
        default="error",
        help="missing values: error (default), ffill (forward fill), or interpolate "
        "(linear in time)",
    )
    parser.add_argument(
        "--format",
        choices=list(INPUT_FORMATS),
        default="wide",
        help="wide (default): a timestamp column and one column per series; long: columns "
        "unique_id, ds, y",
    )
    parser.add_argument(
        "--sep",
        default=",",
        metavar="CHAR",
        help=f"the column separator of {what} (default ','; e.g. ';', or tab)",
    )
    parser.add_argument(
        "--decimal",
        default=".",
        metavar="CHAR",
        help=f"the decimal mark of {what}'s numbers (default '.'; ',' for 1,5)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="stop with an error instead of a warning about the data (e.g. a history far "
        "from the training data, or ignored columns)",
    )


def debugging(args: argparse.Namespace | None = None) -> bool:
    """Whether tracebacks are wanted: ``--debug`` or ``STANHOP_DEBUG`` set."""
    return bool(getattr(args, "debug", False) or os.environ.get(DEBUG_ENV))


def one_line(err: BaseException) -> str:
    """The first line of an error's message (an OS error's file and reason)."""
    if isinstance(err, OSError) and err.strerror:
        return f"{err.filename}: {err.strerror}" if err.filename else err.strerror
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def show_warning(message: Warning | str, category: type[Warning], *args: object, **kw: object):
    """A warning as one line, like the errors; for ``warnings.showwarning``."""
    print(f"warning: {message}", file=sys.stderr)


def say(message: str) -> None:
    """A note to the user on standard error, keeping standard output for results."""
    print(message, file=sys.stderr)


def run_reporting(
    command: Callable[[argparse.Namespace], None],
    args: argparse.Namespace,
    user_errors: tuple[type[BaseException], ...],
    strict: bool = False,
) -> int:
    """``command(args)`` with warnings as one ``warning:`` line each (data warnings errors
    when ``strict``) and ``user_errors`` as one ``error:`` line; the exit status, 2 on an
    error (:func:`debugging` shows its traceback instead)."""
    with warnings.catch_warnings():
        silence_noise()
        warnings.simplefilter("error" if strict else "always", DataWarning)
        warnings.showwarning = show_warning
        try:
            command(args)
        except user_errors as err:
            if debugging(args):
                raise
            print(f"error: {one_line(err)}", file=sys.stderr)
            return 2
    return 0
