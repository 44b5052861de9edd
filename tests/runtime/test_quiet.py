"""The noise filters drop exactly the third-party messages they name: stanhop's warnings,
other warnings and other log lines still show."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from stanhop.data import DataWarning
from stanhop.runtime.quiet import LIGHTNING_LOGGERS, OPTUNA_LOGGER, silence_noise

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def quiet():
    """The filters installed, and removed again after the test."""
    names = (*LIGHTNING_LOGGERS, "matplotlib.ticker", OPTUNA_LOGGER)
    loggers = [logging.getLogger(name) for name in names]
    before = [list(logger.filters) for logger in loggers]
    with warnings.catch_warnings():
        silence_noise()
        yield
    for logger, filters in zip(loggers, before, strict=True):
        logger.filters = filters


def test_named_lightning_lines_are_dropped_and_restores_shown_once(quiet, caplog) -> None:
    log = logging.getLogger(LIGHTNING_LOGGERS[0])
    with caplog.at_level(logging.INFO, logger=log.name):
        log.info("💡 Tip: For seamless cloud logging, try installing litlogger")
        log.info("Restoring states from the checkpoint path at run/best.ckpt")
        log.info("Loaded model weights from the checkpoint at run/best.ckpt")
        log.info("Restoring states from the checkpoint path at run/best.ckpt")
        log.info("Restoring states from the checkpoint path at run/last.ckpt")
        log.info("GPU available: False, used: False")
    assert [r.getMessage() for r in caplog.records] == [
        "Restoring states from the checkpoint path at run/best.ckpt",
        "Restoring states from the checkpoint path at run/last.ckpt",
        "GPU available: False, used: False",
    ]


def test_optunas_report_of_a_trial_cut_off_by_ctrl_c_is_dropped(quiet, caplog) -> None:
    log = logging.getLogger(OPTUNA_LOGGER)
    params = "{'optimizer.lr': 0.001}"
    with caplog.at_level(logging.INFO, logger=log.name):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            log.warning(
                f"Trial 3 failed with parameters: {params} because of the following error: "
                "KeyboardInterrupt().",
                exc_info=True,
            )
        log.warning("Trial 3 failed with value None.")
        log.warning(
            f"Trial 4 failed with parameters: {params} because of the following error: "
            "ValueError('seg_len 7 does not divide in_len 48')."
        )
    assert [r.getMessage() for r in caplog.records] == [
        f"Trial 4 failed with parameters: {params} because of the following error: "
        "ValueError('seg_len 7 does not divide in_len 48')."
    ]


def test_project_and_other_warnings_still_show(quiet) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        silence_noise()  # catch_warnings(record=True) reset the filters
        for message, category in [
            ("The 'train_dataloader' does not have many workers", UserWarning),
            ("`isinstance(treespec, LeafSpec)` is deprecated, use …", FutureWarning),
            ("x.csv: ignoring 1 column(s) that are not series", DataWarning),
            ("something a user should read", UserWarning),
        ]:
            warnings.warn(message, category, stacklevel=1)
    assert [(w.category, str(w.message)) for w in caught] == [
        (DataWarning, "x.csv: ignoring 1 column(s) that are not series"),
        (UserWarning, "something a user should read"),
    ]


# A warning printed by a third-party module names its file: "…/site-packages/x/y.py:242: …".
THIRD_PARTY_LINE = re.compile(r"\S+\.py:\d+: ")


@pytest.mark.slow  # a run or command end to end: seconds each
def test_a_default_training_run_prints_no_third_party_warning_lines(tmp_path: Path) -> None:
    """``train.py debug=fast`` with the model summary on (the default run prints one), in
    its own process as a user runs it: every stderr line is stanhop's or a plain log line."""
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "train.py"),
            "debug=fast",
            "logger=none",
            "trainer.enable_model_summary=true",
            f"hydra.run.dir={tmp_path}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    noise = [line for line in result.stderr.splitlines() if THIRD_PARTY_LINE.search(line)]
    assert noise == [], "\n".join(noise)
