"""The outlier-study experiments say what the published study did, and the depth study
differs from it only in width and budget."""

from __future__ import annotations

from pathlib import Path

from hydra.utils import instantiate
from omegaconf import OmegaConf

from stanhop.model import build_model, model_spec
from stanhop.training.compose import compose_config

# The authors' OutEffHop_script/submit_STHM_outlier.sh (see the docstring of
# tests/model/test_published_size.py for the parameter count).
PUBLISHED_MODEL = {"in_len": 168, "out_len": 24, "seg_len": 6, "e_layers": 11, "win_size": 1}
PUBLISHED_MODEL |= {"factor": 10, "d_model": 256, "d_ff": 512, "n_heads": 4}
VARIANTS = "softmax,clipped,gated,outeffhop,clipped_outeffhop,gated_outeffhop"


def compose_experiment(tmp_path: Path, name: str, *overrides: str):
    return compose_config(
        f"experiment={name}", f"paths.output_dir={tmp_path}", *overrides, return_hydra_config=True
    )


def test_outlier_study_has_the_published_settings_and_size(tmp_path):
    cfg = compose_experiment(tmp_path, "outlier_study", "hopfield=outeffhop")
    model = OmegaConf.to_container(cfg.model, resolve=True)
    assert {k: model[k] for k in PUBLISHED_MODEL} == PUBLISHED_MODEL
    assert cfg.data.source.name == "etth1"
    assert cfg.data.batch_size == 128
    assert cfg.optimizer.lr == 1e-4
    assert cfg.scheduler._target_ == "torch.optim.lr_scheduler.ExponentialLR"
    assert cfg.scheduler.gamma == 0.5
    assert list(cfg.callbacks.quantization.bit_widths) == ["W8A8"]
    assert cfg.hydra.sweeper.params == {"hopfield": VARIANTS, "seed": "1,2,3"}
    net = build_model(model_spec(instantiate(cfg.model, n_series=7)))
    assert sum(p.numel() for p in net.parameters()) == 35_150_664


def test_depth_study_differs_from_the_published_one_in_width_and_budget_only(tmp_path):
    published = compose_experiment(tmp_path, "outlier_study")
    depth = compose_experiment(tmp_path, "outlier_study_depth")
    allowed = {
        "model": {"d_model", "d_ff"},
        "data": {"batch_size"},
        "optimizer": {"lr"},
        "trainer": {
            "precision",
            "max_epochs",
            "limit_train_batches",
            "limit_val_batches",
            "limit_test_batches",
        },
    }
    for group in ("model", "data", "optimizer", "scheduler", "trainer", "hopfield"):
        a = OmegaConf.to_container(published[group], resolve=False)
        b = OmegaConf.to_container(depth[group], resolve=False)
        changed = {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}
        assert changed <= allowed.get(group, set()), (group, changed)
    assert depth.model.e_layers == 11 and depth.model.win_size == 1
    assert depth.callbacks.outliers.every_n_val_epochs == 1
    assert depth.hydra.sweeper.params == published.hydra.sweeper.params


def test_reduced_study_keeps_its_shallow_merged_network(tmp_path):
    cfg = compose_experiment(tmp_path, "outlier_study_reduced")
    assert (cfg.model.e_layers, cfg.model.win_size, cfg.data.batch_size) == (2, 2, 32)
