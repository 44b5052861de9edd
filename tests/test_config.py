"""Every option of every config group composes into something the code accepts."""

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from stanhop.model import HopfieldConfig, build_model, model_spec
from stanhop.training.compose import CONF_DIR
from stanhop.training.overrides import RENAMED, check_command_line


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


@pytest.mark.parametrize("option", options("hopfield"))
def test_every_hopfield_option_builds_a_model_that_takes_a_training_step(
    compose_cfg, option: str
) -> None:
    # The cheapest check that catches a broken option: config, model, forward and backward.
    cfg = compose_cfg("debug=fast", f"hopfield={option}")
    model = build_model(model_spec(instantiate(cfg.model, n_series=3)))
    assert model.cfg.hopfield.name == RENAMED["hopfield"].get(option, option)
    loss = model(torch.randn(2, cfg.data.in_len, 3)).square().mean()
    loss.backward()
    assert torch.isfinite(loss)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize("option", [o for o in options("data") if o != "benchmark"])
def test_data_options_compose(compose_cfg, option: str) -> None:
    overrides = [f"data={option}"] + (["data.path=x.csv"] if option == "csv" else [])
    cfg = compose_cfg(*overrides)
    OmegaConf.to_container(cfg.data, resolve=True, throw_on_missing=True)
    assert cfg.model.in_len == cfg.data.in_len and cfg.model.out_len == cfg.data.out_len


@pytest.mark.parametrize("group", ["trainer", "logger", "callbacks", "debug", "memory"])
def test_other_groups_compose(compose_cfg, group: str) -> None:
    for option in options(group):
        OmegaConf.to_container(compose_cfg(f"{group}={option}"), resolve=True)


@pytest.mark.parametrize("option", options("experiment"))
def test_every_experiment_gives_a_model_config(compose_cfg, option: str) -> None:
    cfg = compose_cfg(f"experiment={option}")
    assert model_spec(instantiate(cfg.model, n_series=7))["in_len"] == cfg.data.in_len


def test_hopfield_files_state_their_normaliser_and_the_schema_gives_every_key(
    compose_cfg,
) -> None:
    """Every file of conf/hopfield/ says which normaliser it builds (an alias, through the
    file it names), and under the schema any key of HopfieldConfig can be set on the
    command line, type-checked."""
    defaults = OmegaConf.structured(HopfieldConfig)
    for path in sorted((CONF_DIR / "hopfield").glob("*.yaml")):
        new = RENAMED["hopfield"].get(path.stem)
        chosen = OmegaConf.load(CONF_DIR / "hopfield" / f"{new or path.stem}.yaml")
        assert "normalizer" in chosen, f"{path.name} does not state its normalizer"
        cfg = compose_cfg(f"hopfield={path.stem}", "hopfield.gate=per_token")
        assert cfg.hopfield.name == (new or path.stem) and cfg.hopfield.gate == "per_token"
        assert cfg.hopfield.normalizer == chosen.normalizer
        assert set(cfg.hopfield) == set(defaults)
    with pytest.raises(Exception, match="gatee"):
        compose_cfg("hopfield.gatee=per_token")
    with pytest.raises(Exception, match="gate_init"):
        compose_cfg("hopfield.gate_init=wide")


def test_an_old_option_name_composes_as_the_new_one_with_a_one_line_note(compose_cfg) -> None:
    for group, renames in RENAMED.items():
        for old, new in renames.items():
            assert compose_cfg(f"{group}={old}") == compose_cfg(f"{group}={new}")
            with pytest.warns(FutureWarning, match=rf"^{group}={old} is deprecated, use"):
                check_command_line([f"{group}={old}"])
