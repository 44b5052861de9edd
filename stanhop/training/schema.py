"""Config schemas for Hydra's ConfigStore: the dataclass holds every key of a group with
its type and default, so the group's files in ``conf/`` hold only what they choose, and
any key can still be set on the command line (``hopfield=outeffhop hopfield.gate=per_token``)
and is type-checked."""

from __future__ import annotations

from hydra.core.config_store import ConfigStore

from stanhop.model import HopfieldConfig


def register_schemas() -> None:
    """Store ``schema/hopfield`` (:class:`HopfieldConfig`), which ``conf/train.yaml``
    lays under the ``hopfield`` group."""
    ConfigStore.instance().store(group="schema", name="hopfield", node=HopfieldConfig)
