"""A model trained with reversible instance normalisation keeps it in its checkpoint:
``Forecaster.load`` applies it with no extra option, and its forecasts are the hand
computation from the stored weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from stanhop.data import make_synthetic
from stanhop.forecast import Forecaster
from stanhop.model import build_model
from stanhop.training.train import train


@pytest.fixture(scope="module")
def revin_run(tmp_path_factory: pytest.TempPathFactory, composer) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("revin")
    csv = root / "series.csv"
    make_synthetic(n_series=3, n_steps=24 * 30, seed=3).to_csv(csv)
    overrides = ("debug=fast", "logger=none", "data=csv", f"data.path={csv}")
    overrides += ("model.revin=true", "model.revin_affine=true", "optimizer.lr=3e-2")
    train(composer(root / "run", root / "data", *overrides))
    return root / "run" / "checkpoints" / "best.ckpt", csv


def test_the_reloaded_forecast_is_the_hand_computation_from_the_stored_weights(revin_run) -> None:
    ckpt, csv = revin_run
    forecaster = Forecaster.load(ckpt)
    got = forecaster.predict(csv).to_numpy()

    checkpoint = torch.load(ckpt, weights_only=True)
    hparams, weights = checkpoint["hyper_parameters"], checkpoint["state_dict"]
    spec = hparams["model"]
    assert spec["revin"] and spec["revin_affine"]
    weight = weights["model.revin.weight"].double().numpy()
    bias = weights["model.revin.bias"].double().numpy()
    assert not np.allclose(weight, 1.0)  # trained, so the affine map is not the identity
    # The network without its instance norm, on the window normalised by hand.
    core = build_model(spec | {"revin": False}).double().eval()
    core.load_state_dict(
        {k[len("model.") :]: v for k, v in weights.items() if not k.startswith("model.revin.")}
    )
    mean, std = (np.asarray(hparams["scaler"][k], dtype=np.float64) for k in ("mean", "std"))
    history = forecaster.read_history(csv).to_numpy(dtype=np.float64)
    x = (history[-spec["in_len"] :] - mean) / std
    w_mean, w_std = x.mean(axis=0), np.sqrt(x.var(axis=0) + 1e-5)
    z = (x - w_mean) / w_std * weight + bias
    with torch.no_grad():
        y = core(torch.from_numpy(z)[None])[0].numpy()
    expected = ((y - bias) / weight * w_std + w_mean) * std + mean
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_a_history_shifted_in_level_gets_the_same_forecast_shifted(revin_run) -> None:
    ckpt, csv = revin_run
    forecaster = Forecaster.load(ckpt)
    history = forecaster.read_history(csv)
    shift = np.array([1e3, -50.0, 7.0])
    base = forecaster.predict_history(history).to_numpy()
    shifted = forecaster.predict_history(history + shift).to_numpy()
    np.testing.assert_allclose(shifted - shift, base, atol=1e-3)
