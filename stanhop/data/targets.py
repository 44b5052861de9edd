"""Which columns are forecast: the *targets*. Every other numeric column is a *past
covariate*, an input the model reads in its history window but never forecasts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from stanhop.data.errors import DataError
from stanhop.data.messages import listing, quoted


def names_of(value: str | Sequence[str] | None) -> list[str] | None:
    """A setting that names columns, as a list: one name (``data.targets=OT``) or a list
    (``data.targets=[OT,HUFL]``); a single name is not read as its letters."""
    if value is None:
        return None
    return [value] if isinstance(value, str) else [str(v) for v in value]


def check_targets(
    names: Sequence[str], targets: str | Sequence[str] | None, source: str | Path
) -> list[str]:
    """The names of the columns forecast: ``targets`` in the order given, or every column
    of ``names`` (the data's series columns) when None.

    Raises :class:`DataError` for an empty list, a repeated name or one that is not a
    column."""
    if targets is None:
        return list(names)
    targets = names_of(targets)
    if not targets:
        raise DataError(
            f"{source}: data.targets is empty; name at least one column to forecast, or "
            "leave data.targets unset to forecast every column"
        )
    repeated = [t for i, t in enumerate(targets) if t in targets[:i]]
    if repeated:
        raise DataError(f"{source}: data.targets names {quoted(repeated[0])} twice; name it once")
    unknown = [t for t in targets if t not in names]
    if unknown:
        raise DataError(
            f"{source}: data.targets names {listing(unknown)}, not a column of the data; the "
            f"series columns are {listing(list(names))}"
        )
    return targets


def indices_of(names: Sequence[str], targets: Sequence[str]) -> list[int] | None:
    """The positions in ``names`` of the (checked) ``targets``, as the model takes them:
    None when every column is a target in its own order, so a run without covariates
    builds the model that forecasts every series."""
    indices = [list(names).index(t) for t in targets]
    return None if indices == list(range(len(names))) else indices


def covariates_of(names: Sequence[str], targets: Sequence[str]) -> list[str]:
    """The past covariates: the columns of ``names`` that are not ``targets``."""
    chosen = set(targets)
    return [n for n in names if n not in chosen]


def future_indices(
    names: Sequence[str], future: Sequence[str], targets: Sequence[str], source: str | Path
) -> list[int]:
    """The positions in ``names`` of the ``future`` columns: covariates whose values over
    the forecast horizon are known in advance (a schedule, a weather forecast). They stay
    past covariates too. Raises :class:`DataError` for a name that is not a column or
    that is a target (whose future is what is forecast)."""
    future = names_of(future)
    unknown = [f for f in future if f not in names]
    if unknown:
        raise DataError(
            f"{source}: data.future names {listing(unknown)}, not a column of the data; the "
            f"series columns are {listing(list(names))}"
        )
    both = [f for f in future if f in targets]
    if both:
        raise DataError(
            f"{source}: data.future names the target {quoted(both[0])}, whose future is what "
            "the model forecasts; a future covariate must be another column"
        )
    if len(set(future)) != len(future):
        raise DataError(f"{source}: data.future names a column twice; name each once")
    return [list(names).index(f) for f in future]
