"""The packaged configs: found from an installed copy of the package with no checkout
around it, and a user's folder of configs read before them (a file of the same name takes
the packaged one's place, a new file adds an option)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import stanhop
from stanhop.training.compose import CONF_DIR, compose_config
from stanhop.training.overrides import UsageError, check_command_line, searched_groups

ROOT = Path(__file__).resolve().parents[2]


def user_folder(root: Path) -> Path:
    """A user's configs: their own model/stanhop.yaml (d_model 24) and experiment/mine."""
    packaged = yaml.safe_load((CONF_DIR / "model" / "stanhop.yaml").read_text())
    (root / "model").mkdir(parents=True)
    (root / "model" / "stanhop.yaml").write_text(yaml.safe_dump({**packaged, "d_model": 24}))
    (root / "experiment").mkdir()
    (root / "experiment" / "mine.yaml").write_text("# @package _global_\nseed: 7\n")
    return root


def test_the_configs_are_package_data() -> None:
    assert Path(stanhop.__file__).parent / "conf" == CONF_DIR
    assert (CONF_DIR / "train.yaml").is_file()
    assert "stanhop" in searched_groups()["model"]


def test_a_users_folder_takes_precedence_over_the_packaged_configs(tmp_path: Path) -> None:
    mine = user_folder(tmp_path / "mine")
    assert compose_config("paths.output_dir=x").model.d_model == 128
    cfg = compose_config("paths.output_dir=x", "experiment=mine", config_dir=mine)
    assert (cfg.model.d_model, cfg.seed) == (24, 7)
    # the packaged files the folder does not replace are still there
    assert compose_config("paths.output_dir=x", "model=dlinear", config_dir=mine).model.name == (
        "dlinear"
    )
    assert searched_groups(mine)["experiment"] == sorted([*searched_groups()["experiment"], "mine"])
    check_command_line(["--config-dir", str(mine), "experiment=mine"])
    with pytest.raises(UsageError, match="the experiment group has no option 'mine'"):
        check_command_line(["experiment=mine"])
    with pytest.raises(UsageError, match=r"^--config-dir .*nowhere: no such folder"):
        check_command_line(["--config-dir", str(tmp_path / "nowhere"), "seed=1"])


@pytest.mark.slow  # a fresh interpreter: seconds
def test_the_configs_compose_from_an_installed_copy_outside_the_checkout(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    shutil.copytree(ROOT / "stanhop", site / "stanhop", ignore=shutil.ignore_patterns("*.pyc"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import stanhop; from stanhop.training.compose import CONF_DIR, compose_config; "
        "cfg = compose_config('paths.output_dir=x', 'model=dlinear'); "
        "print(stanhop.__file__, CONF_DIR, cfg.model.name, sep='\\n')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=elsewhere,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    module, conf, name = done.stdout.split()
    assert Path(module) == site / "stanhop" / "__init__.py"
    assert Path(conf) == site / "stanhop" / "conf"
    assert name == "dlinear"


@pytest.mark.slow  # a fresh interpreter: seconds
def test_the_training_command_reads_a_users_folder_first(tmp_path: Path) -> None:
    mine = user_folder(tmp_path / "mine")
    argv = ["--config-dir", str(mine), "experiment=mine", "--cfg", "job"]
    done = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    cfg = yaml.safe_load(done.stdout)
    assert (cfg["model"]["d_model"], cfg["seed"]) == (24, 7)


@pytest.mark.slow  # a fresh interpreter: seconds
def test_importing_stores_nothing_and_the_python_api_imports_no_command() -> None:
    code = (
        "import sys; import stanhop.api; "
        "print(sorted(m for m in sys.modules if m.startswith('stanhop.cli'))); "
        "import stanhop.cli.train, stanhop.cli.tune; "
        "from hydra.core.config_store import ConfigStore; "
        "print('schema' in ConfigStore.instance().repo)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:2] == ["[]", "False"]
