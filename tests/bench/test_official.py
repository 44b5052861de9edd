"""bench/official.py: its errors, and (where a checkout of the authors' code is at hand, in
$STANHOP_OFFICIAL) that the network it builds from their code is the size of ours."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from official import (
    OFFICIAL_ENV,
    build_official,
    main,
    official_class,
    official_models_dir,
    our_spec,
    parameter_count,
)

from stanhop.model import build_model

CLONE_HINT = "git clone https://github.com/MAGICS-LAB/OutEffHop"
# Small widths that still exercise segment merging, padding of the input and the output
# to whole segments, and several heads.
SMALL = {"name": "stanhop", "n_series": 3, "in_len": 22, "out_len": 10, "seg_len": 4}
SMALL |= {"win_size": 2, "factor": 3, "cross_series": "full", "d_model": 16, "d_ff": 24}
SMALL |= {"n_heads": 2, "e_layers": 3, "dropout": 0.1}
SMALL |= {"hopfield": {"name": "outeffhop", "normalizer": "softmax1"}}


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def test_a_missing_checkout_says_how_to_get_it(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(OFFICIAL_ENV, raising=False)
    assert CLONE_HINT in one_line_error(capsys, ["--official", str(tmp_path / "none")])
    assert CLONE_HINT in one_line_error(capsys, [])
    # A folder that is not their checkout is refused the same way, before any model is built.
    (tmp_path / "cross_models").mkdir()
    assert CLONE_HINT in one_line_error(capsys, ["--official", str(tmp_path)])


def test_the_checkout_may_come_from_the_environment(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(OFFICIAL_ENV, str(tmp_path / "elsewhere"))
    assert str(tmp_path / "elsewhere") in one_line_error(capsys, [])


@pytest.mark.parametrize(
    "argv",
    [["--steps", "0"], ["--threads", "0"], ["--batch", "-1"], ["--warmup", "-1"], ["--size", "x"]],
)
def test_bad_arguments_are_one_line_errors(capsys, tmp_path, argv) -> None:
    # the checkout is valid-looking nowhere: the arguments are checked first
    assert "--" in one_line_error(capsys, ["--official", str(tmp_path), *argv])


def test_the_sizes_are_step_times_models(compose_cfg) -> None:
    widths = ("d_model", "d_ff", "in_len", "seg_len", "e_layers")
    train_run, model = our_spec("train-run", 7), compose_cfg().model  # python train.py's
    # seg_len=auto on the synthetic data's hourly steps: a day, four of them in the input
    assert (model.seg_len, model.in_len, train_run["seg_len"]) == ("auto", 96, 24)
    assert {k: train_run[k] for k in widths if k != "seg_len"} == {
        k: model[k] for k in widths if k != "seg_len"
    }
    small = our_spec("small", 7)
    assert {k: small[k] for k in widths} == {
        "d_model": 64,
        "d_ff": 128,
        "in_len": 96,
        "seg_len": 12,
        "e_layers": 2,
    }
    published = our_spec("published", 7)
    assert (published["d_model"], published["e_layers"], published["win_size"]) == (256, 3, 2)
    assert published["hopfield"]["normalizer"] == "softmax1"


def official_checkout() -> Path:
    path = os.environ.get(OFFICIAL_ENV)
    if not path or not Path(path).expanduser().is_dir():
        pytest.skip(f"no checkout of the authors' code in ${OFFICIAL_ENV} ({CLONE_HINT})")
    return official_models_dir(path)


def test_the_authors_network_is_the_size_of_ours() -> None:
    cls = official_class(official_checkout())
    theirs = build_official(cls, SMALL)
    ours = build_model(SMALL)
    assert parameter_count(theirs) == parameter_count(ours)
    # Tensor by tensor too (the layouts differ, e.g. their pooling patterns carry a
    # leading 1): the same multiset of tensor sizes.
    sizes = sorted(p.numel() for p in theirs.parameters())
    assert sizes == sorted(p.numel() for p in ours.parameters())
    # Their uninitialised pooling patterns were filled: the forecast is finite.
    x = torch.randn(2, SMALL["in_len"], SMALL["n_series"])
    theirs.eval()
    with torch.no_grad():
        pred = theirs(x)
    assert pred.shape == ours(x).shape == (2, SMALL["out_len"], SMALL["n_series"])
    assert torch.isfinite(pred).all()
