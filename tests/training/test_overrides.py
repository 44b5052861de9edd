"""The checks of a run's Hydra overrides: a value Hydra would refuse is one line naming
what to type instead; sweeps and valid settings pass."""

from __future__ import annotations

import pytest

from stanhop.training.overrides import UsageError, check_command_line


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["model.d_model=abc"],
            "model.d_model=abc: model.d_model takes a whole number, not 'abc'; e.g. "
            "model.d_model=128 (its default)",
        ),
        (["model.revin=yes"], "model.revin takes true or false, not 'yes'"),
        (
            ["data.targets=[OT"],
            "data.targets=[OT: Hydra cannot read this override (no viable alternative at input "
            "'[OT'); close its brackets and quotes",
        ),
        (
            ["+data.in_len=96"],
            "+data.in_len=96: data.in_len exists already; set it without the + "
            "(data.in_len=96), or with ++ to add or set it",
        ),
        (
            ["model.d_model=16,32"],
            "model.d_model=16,32: a comma list is a sweep, one run per value; add -m to run "
            "them all",
        ),
        (["hopfield.beta=abc"], "Value 'abc' of type 'str' could not be converted to Float"),
        (["threads=many"], "threads=many: give auto or a whole number of threads, e.g. threads=1"),
    ],
)
def test_a_value_hydra_would_refuse_is_one_line(argv, expected) -> None:
    with pytest.raises(UsageError) as error:
        check_command_line(argv)
    assert expected in str(error.value) and "\n" not in str(error.value)


def test_sweeps_and_valid_settings_pass_the_check() -> None:
    argv = ["-m", "hopfield=softmax,outeffhop", "model=dlinear", "data.in_len=24,48"]
    check_command_line([*argv, "+extra=1", "hydra/launcher=joblib", "seed=1"])
    valid = ["trainer.devices=auto", "data.in_len=${data.out_len}", "optimizer.lr=1", "seed=null"]
    check_command_line([*valid, "model.d_model=64"])
    with pytest.raises(UsageError, match="hopfield=outefhop: the hopfield group has no option"):
        check_command_line(["-m", "hopfield=softmax,outefhop"])
