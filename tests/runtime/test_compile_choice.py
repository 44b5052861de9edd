"""compile=auto: compile where the run's steps save more than the compile costs, with a
warm kernel cache counting as nearly free; the choice leaves training untouched."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from stanhop.runtime.compile_choice import (
    COLD_COMPILE_S,
    COMPILE_SAVING,
    WARM_COMPILE_S,
    choose_compile,
    expected_steps,
    max_time_s,
)


def test_auto_compiles_exactly_where_the_saving_outweighs_the_compile() -> None:
    step = 0.1
    breakeven = COLD_COMPILE_S / (COMPILE_SAVING * step)
    below = choose_compile("auto", "cpu", int(breakeven * 0.9), step, warm=False)
    above = choose_compile("auto", "cpu", int(breakeven * 1.1), step, warm=False)
    assert not below.enabled and above.enabled
    assert "compile auto: off" in below.reason and "cold cache" in below.reason
    # the same run, with this model's kernels already in the cache
    warm = choose_compile("auto", "cpu", int(breakeven * 0.9), step, warm=True)
    assert warm.enabled and "cache" in warm.reason
    assert not choose_compile(
        "auto", "cpu", int(WARM_COMPILE_S / (COMPILE_SAVING * step)) - 1, step, warm=True
    ).enabled


def test_true_and_false_are_used_as_given_and_other_values_are_refused() -> None:
    assert choose_compile(True, "cpu", 0, None, False).enabled
    assert not choose_compile(False, "cpu", 10**9, 1.0, True).enabled
    assert not choose_compile("auto", "cuda", 10**9, None, False).enabled
    with pytest.raises(ValueError, match="choose auto, true or false"):
        choose_compile("yes", "cpu", 1, 1.0, False)


def test_the_steps_a_run_may_take_follow_every_trainer_limit() -> None:
    def trainer(**kw):
        return OmegaConf.create({"max_epochs": 10, "limit_train_batches": None} | kw)

    assert expected_steps(270, trainer(), 0.1) == 2700
    assert expected_steps(270, trainer(limit_train_batches=100), 0.1) == 1000
    assert expected_steps(270, trainer(limit_train_batches=0.5), 0.1) == 1350
    assert expected_steps(270, trainer(max_steps=500), 0.1) == 500
    # a 60 s cap at 0.1 s a step
    assert expected_steps(270, trainer(max_time="00:00:01:00"), 0.1) == 600
    assert max_time_s("01:02:03:04") == 86400 + 2 * 3600 + 3 * 60 + 4
    assert max_time_s({"minutes": 30}) == 1800
    assert max_time_s(None) is None
