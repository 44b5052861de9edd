"""The one way Hydra sees the training config: :func:`hydra_configs` sets up what every
composition reads (the config schemas, a user's folder of configs before the packaged
``stanhop/conf/``); the training command's Hydra main runs within it, and
:func:`compose_config` composes ``train.yaml`` with overrides within it, as
``stanhop-train OVERRIDES`` would see it, for the Python API, tuning, tests, benchmarks
and the commands' own checks.

Schemas: a dataclass holds every key of a group with its type and default, so the group's
files in ``conf/`` hold only what they choose, and any key can still be set on the command
line (``hopfield=outeffhop hopfield.gate=per_token``) and is type-checked.

A user's own folder of configs (``--config-dir DIR``, ``config_dir=DIR``) comes before the
packaged configs in Hydra's search path: a file of the user's folder adds an option to a
group (``experiment/mine.yaml``) or takes the place of the packaged file of the same name
(``model/stanhop.yaml``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

from hydra import compose, initialize_config_dir
from hydra.core.config_search_path import ConfigSearchPath, SearchPathQuery
from hydra.core.config_store import ConfigStore
from hydra.core.plugins import Plugins
from hydra.plugins.search_path_plugin import SearchPathPlugin
from omegaconf import DictConfig

from stanhop.model import HopfieldConfig

# The configs ship inside the package (package data), so they are found wherever it is
# installed: a checkout, a wheel in site-packages.
CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
CONFIG_NAME = "train"


class UserConfigs(SearchPathPlugin):
    """Puts the folder of :func:`hydra_configs` before the packaged configs. Hydra's own
    ``--config-dir`` places its folder after the primary one, where a file of the same
    name as a packaged one would never be read."""

    folder: ClassVar[Path | None] = None

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        if UserConfigs.folder is not None:
            search_path.prepend(
                "stanhop-user", f"file://{UserConfigs.folder}", SearchPathQuery(provider="main")
            )


@contextmanager
def hydra_configs(folder: Path | str | None = None) -> Iterator[None]:
    """Within the block, Hydra knows the config schemas (``schema/hopfield``, which
    ``conf/train.yaml`` lays under the ``hopfield`` group: :class:`HopfieldConfig`) and
    looks in ``folder`` (if any) before the packaged configs."""
    ConfigStore.instance().store(group="schema", name="hopfield", node=HopfieldConfig)
    if folder is None:
        yield
        return
    folder = Path(folder).resolve()
    if not folder.is_dir():
        raise FileNotFoundError(
            f"config folder {folder} not found; give an existing folder of config groups"
        )
    plugins = Plugins.instance()
    if UserConfigs not in plugins.discover(SearchPathPlugin):
        plugins.register(UserConfigs)
    before, UserConfigs.folder = UserConfigs.folder, folder
    try:
        yield
    finally:
        UserConfigs.folder = before


def compose_config(
    *overrides: str, config_dir: Path | str | None = None, return_hydra_config: bool = False
) -> DictConfig:
    """``train.yaml`` composed with ``overrides`` (``key=value``, ``group=option``), the
    files of a user's ``config_dir`` taking precedence over the packaged ones; with
    ``return_hydra_config`` also its ``hydra`` node."""
    with (
        hydra_configs(config_dir),
        initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"),
    ):
        return compose(
            CONFIG_NAME, overrides=list(overrides), return_hydra_config=return_hydra_config
        )
