"""``debug=fast`` shrinks any model: every option of the model group trains with it, and
the tiny STanHop-Net keeps its sizes."""

from __future__ import annotations

import math

import pytest

from stanhop.training.compose import CONF_DIR
from stanhop.training.overrides import config_groups
from stanhop.training.train import train


@pytest.mark.parametrize("model", config_groups(CONF_DIR)["model"])
def test_debug_fast_trains_every_model(compose_cfg, model) -> None:
    cfg = compose_cfg("debug=fast", f"model={model}", "logger=none", "callbacks.outliers=null")
    metrics = train(cfg)
    assert math.isfinite(metrics["test/mse"])


def test_debug_fast_keeps_the_tiny_stanhop_sizes(compose_cfg) -> None:
    model = compose_cfg("debug=fast").model
    sizes = {k: model[k] for k in ("seg_len", "d_model", "d_ff", "n_heads", "e_layers")}
    assert sizes == {"seg_len": 6, "d_model": 16, "d_ff": 32, "n_heads": 2, "e_layers": 2}
    assert compose_cfg().model.d_model == 128  # without debug=fast: the model's own
