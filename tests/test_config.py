"""Every option of every config group composes into something the code accepts."""

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from stanhop.model import STanHopConfig

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


@pytest.mark.parametrize("option", options("hopfield"))
def test_hopfield_options_build_a_model_config(compose_cfg, option: str) -> None:
    cfg = compose_cfg(f"hopfield={option}")
    model = OmegaConf.to_container(cfg.model, resolve=True)
    model.pop("name")
    model.pop("compile")  # how to run the model, not part of it (see build_module)
    STanHopConfig(n_series=3, **model)


@pytest.mark.parametrize("option", [o for o in options("data") if o != "benchmark"])
def test_data_options_compose(compose_cfg, option: str) -> None:
    overrides = [f"data={option}"] + (["data.path=x.csv"] if option == "csv" else [])
    cfg = compose_cfg(*overrides)
    OmegaConf.to_container(cfg.data, resolve=True, throw_on_missing=True)
    assert cfg.model.in_len == cfg.data.in_len and cfg.model.out_len == cfg.data.out_len


@pytest.mark.parametrize("group", ["trainer", "logger", "callbacks", "debug"])
def test_other_groups_compose(compose_cfg, group: str) -> None:
    for option in options(group):
        OmegaConf.to_container(compose_cfg(f"{group}={option}"), resolve=True)


@pytest.mark.parametrize(
    ("horizon", "in_len", "seg_len", "lr"),
    [
        (24, 168, 6, 1e-4),
        (48, 168, 6, 1e-4),
        (168, 720, 24, 1e-5),
        (336, 720, 24, 1e-5),
        (720, 720, 24, 1e-5),
    ],
)
def test_etth1_experiments_carry_the_published_settings(compose_cfg, horizon, in_len, seg_len, lr):
    cfg = compose_cfg(f"experiment=etth1_{horizon}")
    assert cfg.data.source.name == "etth1"
    assert (cfg.data.in_len, cfg.data.out_len, cfg.model.seg_len) == (in_len, horizon, seg_len)
    assert cfg.optimizer.lr == lr
    assert (cfg.model.d_model, cfg.model.d_ff, cfg.model.n_heads, cfg.model.factor) == (
        256,
        512,
        4,
        10,
    )


def test_defaults_are_the_documented_ones(compose_cfg) -> None:
    cfg = compose_cfg()
    assert cfg.hopfield.normalizer == "softmax1" and cfg.hopfield.gate == "none"
    assert cfg.data.source._target_.endswith("SyntheticSource")
    assert Path(cfg.paths.output_dir).name == "run"
