"""The packaged search spaces: one per model beside the tuning code, each readable, each
composing with the training config, and all of them shipped in the wheel."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import stanhop
from stanhop.cli.tune import _packaged_search
from stanhop.search.space import SPACES_DIR, load_space
from stanhop.training.compose import CONF_DIR
from stanhop.training.overrides import check_command_line

ROOT = Path(__file__).resolve().parents[2]
MODELS = sorted(p.stem for p in (CONF_DIR / "model").glob("*.yaml"))


@pytest.mark.parametrize("path", sorted(SPACES_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_packaged_space_reads_and_its_settings_compose(path: Path) -> None:
    space = load_space(path)
    assert path.stem.split("_")[0] == space.model
    check_command_line([f"model={space.model}", *space.example_overrides()])


@pytest.mark.parametrize("model", MODELS)
def test_every_model_has_a_packaged_space_and_a_users_own_comes_first(
    model: str, tmp_path: Path
) -> None:
    assert _packaged_search(model, None) == SPACES_DIR / f"{model}.yaml"
    mine = tmp_path / "search" / f"{model}.yaml"
    mine.parent.mkdir()
    mine.write_text((SPACES_DIR / f"{model}.yaml").read_text())
    assert _packaged_search(model, tmp_path) == mine


def test_the_wheel_ships_every_config_and_space() -> None:
    package = Path(stanhop.__file__).parent
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["stanhop"]
    shipped = {p for pattern in patterns for p in package.glob(pattern)}
    assert set(package.rglob("*.yaml")) == shipped
    assert SPACES_DIR.is_relative_to(package)
