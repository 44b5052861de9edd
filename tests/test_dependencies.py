"""The lower bounds pyproject.toml promises are the versions .ci/oldest installs and tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parents[1]


def test_every_lower_bound_is_the_version_the_oldest_check_installs() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    bounds = {}
    # wandb is an extra (logger=wandb), tested at its lower bound like the dependencies.
    for line in [*project["dependencies"], *project["optional-dependencies"]["wandb"]]:
        requirement = Requirement(line)
        [lower] = [s.version for s in requirement.specifier if s.operator == ">="]
        bounds[requirement.name] = Version(lower)
    pins = {}
    for line in (ROOT / ".ci" / "oldest.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[name] = Version(version)
    assert pins == bounds
