"""Name → class tables for model variants, filled by a class decorator."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T", bound=type)


def registrar(table: dict[str, type], kind: str) -> Callable[[str], Callable[[T], T]]:
    """A decorator factory that adds classes to ``table``; ``kind`` names the table's
    variants in the error for a name registered twice."""

    def register(name: str) -> Callable[[T], T]:
        def add(cls: T) -> T:
            if name in table:
                raise ValueError(f"{kind} {name!r} is registered twice")
            table[name] = cls
            return cls

        return add

    return register
