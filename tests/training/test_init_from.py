"""Fine-tuning (init_from=CKPT): a new run starts from exactly the stored weights, keeps or
refits the scaler as asked, records where it started, and refuses data or a model that
do not fit the checkpoint in one line."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import instantiate

from stanhop.data import make_synthetic
from stanhop.files.checkpoint import load_checkpoint, model_weights
from stanhop.training.init_from import InitialModel
from stanhop.training.train import build_module, train

FAST = ("debug=fast", "logger=none", "callbacks.outliers=null", "callbacks.quantization=null")


@pytest.fixture
def new_data(tmp_path) -> Path:
    """Other data with the trained run's columns (s0, s1, s2): a fine-tuning set."""
    path = tmp_path / "new.csv"
    (make_synthetic(n_series=3, n_steps=24 * 20, seed=9) * 2.0 + 1.0).to_csv(path)
    return path


def test_the_run_starts_from_exactly_the_stored_weights(synthetic_run, compose_cfg, new_data):
    cfg = compose_cfg(*FAST, "data=csv", f"data.path={new_data}", f"init_from={synthetic_run.ckpt}")
    dm = instantiate(cfg.data)
    dm.initial = InitialModel(cfg.init_from, cfg.init_scaler)
    dm.setup()
    module = build_module(cfg, dm)
    stored = model_weights(load_checkpoint(synthetic_run.ckpt)["state_dict"])
    own = module.model.state_dict()
    assert own.keys() == stored.keys()
    assert all(torch.equal(own[k], stored[k]) for k in own)
    assert module.hparams.init_from == str(synthetic_run.ckpt)


@pytest.mark.parametrize("init_scaler", ["keep", "refit"])
def test_the_scaler_is_kept_or_refit(synthetic_run, compose_cfg, new_data, init_scaler) -> None:
    cfg = compose_cfg(
        *FAST,
        "data=csv",
        f"data.path={new_data}",
        f"init_from={synthetic_run.ckpt.parent.parent}",  # the run folder works too
        f"init_scaler={init_scaler}",
    )
    train(cfg)
    hparams = load_checkpoint(Path(cfg.paths.output_dir) / "checkpoints" / "best.ckpt")[
        "hyper_parameters"
    ]
    assert hparams["init_from"] == str(synthetic_run.ckpt)
    stored = load_checkpoint(synthetic_run.ckpt)["hyper_parameters"]["scaler"]
    if init_scaler == "keep":
        assert hparams["scaler"] == stored
    else:
        rows = np.loadtxt(new_data, delimiter=",", skiprows=1, usecols=(1, 2, 3))
        train_rows = rows[: int(0.7 * len(rows))]
        np.testing.assert_allclose(hparams["scaler"]["mean"], train_rows.mean(0), rtol=1e-12)
        np.testing.assert_allclose(hparams["scaler"]["std"], train_rows.std(0), rtol=1e-12)


def test_data_or_a_model_that_does_not_fit_is_one_line(synthetic_run, compose_cfg, tmp_path):
    other = tmp_path / "other.csv"
    make_synthetic(n_series=2, n_steps=24 * 20, seed=9).to_csv(other)
    cfg = compose_cfg(*FAST, "data=csv", f"data.path={other}", f"init_from={synthetic_run.ckpt}")
    with pytest.raises(ValueError) as err:
        train(cfg)
    assert str(err.value) == (
        f"init_from={synthetic_run.ckpt}: the model was trained on the series s0, s1, s2, "
        "this data has s0, s1; give data with the same columns in the same order"
    )
    wider = tmp_path / "wide.csv"
    make_synthetic(n_series=3, n_steps=24 * 20, seed=9).to_csv(wider)
    cfg = compose_cfg(
        *FAST,
        "data=csv",
        f"data.path={wider}",
        f"init_from={synthetic_run.ckpt}",
        "model.d_model=32",
    )
    with pytest.raises(ValueError) as err:
        train(cfg)
    assert str(err.value) == (
        f"init_from={synthetic_run.ckpt}: its weights do not fit this run's model, which "
        "differs in model.d_model 16 vs 32 (the checkpoint's vs this run's); set them as the "
        "checkpoint's run did"
    )
    with pytest.raises(ValueError, match=r"^init_scaler='kept'; use refit"):
        InitialModel(synthetic_run.ckpt, "kept")


def test_a_model_of_another_input_length_is_named_by_the_setting(synthetic_run, compose_cfg):
    data = ("data=csv", f"data.path={synthetic_run.csv}", f"init_from={synthetic_run.ckpt}")
    with pytest.raises(ValueError) as err:
        train(compose_cfg(*FAST, *data, "data.in_len=96"))
    message = str(err.value)
    assert "differs in data.in_len 48 vs 96 (the checkpoint's vs this run's)" in message
    assert "pos" not in message  # no internal tensor (enc_pos, dec_pos)


@pytest.fixture(scope="module")
def known_inputs_run(tmp_path_factory, composer) -> Path:
    """A tiny run forecasting s0 with the hour as calendar input and s1 as future input."""
    root = tmp_path_factory.mktemp("known")
    csv = root / "series.csv"
    make_synthetic(n_series=3, n_steps=24 * 30, seed=1).to_csv(csv)
    cfg = composer(root / "run", root / "data", *FAST, *KNOWN_INPUTS, f"data.path={csv}")
    train(cfg)
    return root


KNOWN_INPUTS = ("data=csv", "data.targets=[s0]", "data.calendar=[hour]", "data.future=[s1]")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.future=[s2]", "the model reads [s1] as data.future, this run [s2]; set "),
        ("data.calendar=[dayofweek]", "reads [hour] as data.calendar, this run [dayofweek]; "),
    ],
)
def test_calendar_and_future_inputs_are_compared_by_name(
    known_inputs_run, composer, override, message
):
    run = known_inputs_run
    cfg = composer(
        run / "tune",
        run / "data",
        *FAST,
        *KNOWN_INPUTS,
        f"data.path={run / 'series.csv'}",
        f"init_from={run / 'run'}",
        override,
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        train(cfg)
