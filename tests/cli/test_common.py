"""The command layer every console command shares: one parser base with ``--debug``, the
same history-input options wherever a history is read, and a console script for each
command."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from stanhop.cli import evaluate, forecast, report, tune

ROOT = Path(__file__).resolve().parents[2]
HISTORY_OPTIONS = ("--date-column", "--nan-policy", "--format", "--sep", "--decimal", "--strict")
COMMANDS = {
    "stanhop-train": "stanhop.cli.train",
    "stanhop-forecast": "stanhop.cli.forecast",
    "stanhop-evaluate": "stanhop.cli.evaluate",
    "stanhop-report": "stanhop.cli.report",
    "stanhop-tune": "stanhop.cli.tune",
}


def options(parser) -> dict[str, object]:
    """Each long option of ``parser`` and its default."""
    return {
        flag: action.default
        for action in parser._actions
        for flag in action.option_strings
        if flag.startswith("--")
    }


@pytest.mark.parametrize("module", [forecast, evaluate])
def test_commands_reading_a_history_share_its_options_and_defaults(module) -> None:
    found = options(module.build_parser())
    assert {flag: found[flag] for flag in HISTORY_OPTIONS} == {
        "--date-column": None,
        "--nan-policy": "error",
        "--format": "wide",
        "--sep": ",",
        "--decimal": ".",
        "--strict": False,
    }


@pytest.mark.parametrize("module", [forecast, evaluate, report])
def test_every_parsed_command_has_the_debug_switch_and_one_line_usage_errors(
    module, capsys
) -> None:
    assert options(module.build_parser())["--debug"] is False
    with pytest.raises(SystemExit) as exit:
        module.build_parser().parse_args(["--no-such-option"])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err


def test_every_command_is_a_console_script() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    scripts = dict(re.findall(r'^(stanhop-\w+) = "([\w.]+):main"$', text, re.M))
    assert scripts == COMMANDS
    for module in scripts.values():
        assert callable(importlib.import_module(module).main)
    assert importlib.import_module("stanhop.report").main is report.main
    assert importlib.import_module("stanhop.evaluate").main is evaluate.main
    assert importlib.import_module("stanhop.tune").main is tune.main


@pytest.mark.slow  # a run or command end to end: seconds each
def test_train_takes_the_same_debug_switch(tmp_path) -> None:
    missing = tmp_path / "absent.csv"
    argv = [sys.executable, str(ROOT / "train.py"), "data=csv", f"data.path={missing}"]
    argv.append(f"hydra.run.dir={tmp_path}/run")
    env = {k: v for k, v in os.environ.items() if k != "STANHOP_DEBUG"}
    plain = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
    assert plain.stderr.strip().splitlines()[-1].endswith("(--debug shows the traceback)")
    debug = subprocess.run([*argv, "--debug"], capture_output=True, text=True, timeout=600, env=env)
    assert debug.returncode != 0 and "Traceback" in debug.stderr
    assert str(missing) in debug.stderr
