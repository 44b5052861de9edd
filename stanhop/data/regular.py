"""A regular time index for training: windows of rows are windows of time only when every
step between rows is the same. Missing rows or a daylight-saving jump would let windows
silently span the gap, so an irregular index is refused, warned about or resampled, as
the ``irregular`` policy says."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from stanhop.data.errors import DataError, DataWarning
from stanhop.data.freq import infer_freq

IRREGULAR_POLICIES = ("error", "warn", "resample")
# Steps this long are calendar months or years, whose lengths vary: a fixed step cannot
# resample them.
LONGEST_FIXED_STEP = pd.Timedelta(days=27)


def check_irregular_policy(policy: str, source: str | Path) -> None:
    """Raise a :class:`DataError` unless ``policy`` is one of :data:`IRREGULAR_POLICIES`."""
    if policy not in IRREGULAR_POLICIES:
        raise DataError(
            f"{source}: unknown irregular policy {policy!r}; use one of "
            f"{', '.join(IRREGULAR_POLICIES)} (data.irregular=...)"
        )


def regularize(frame: pd.DataFrame, source: str | Path, policy: str) -> tuple[pd.DataFrame, str]:
    """``frame`` (indexed by sorted, unique timestamps) on a regular index, and a line
    saying what was done ("" when nothing was).

    A regular index (one pandas can name a frequency for) is kept. Otherwise ``policy``
    says: ``error`` raises a :class:`DataError` naming the first odd step and how to fix
    it; ``warn`` keeps the frame, with a :class:`DataWarning`; ``resample`` puts the rows
    on the grid of the usual step from the first timestamp (``resample(step).mean()``:
    a row off the grid is averaged into the step it falls in) and fills the steps
    without a row by interpolating linearly in time.
    """
    check_irregular_policy(policy, source)
    index = frame.index
    if len(index) < 3 or infer_freq(index) is not None:
        return frame, ""
    steps = pd.Series(index[1:] - index[:-1], index=index[1:])
    usual = steps.mode().iloc[0]
    odd = steps[steps != usual]
    if odd.empty:
        # Every step is the same, a frequency pandas cannot name: windows are still
        # windows of time.
        return frame, ""
    end = odd.index[0]
    start = index[index.get_loc(end) - 1]
    more = f" (and {len(odd) - 1} more odd steps)" if len(odd) > 1 else ""
    found = (
        f"{source}: the timestamps are irregular: the step from {start} to {end} is "
        f"{describe_step(odd.iloc[0])}, elsewhere {describe_step(usual)}{more}"
    )
    if policy == "error":
        raise DataError(
            f"{found}, so training windows would span the gaps; resample the data to one "
            "step (data.irregular=resample fills missing steps by time interpolation), or "
            "train on it as it is with data.irregular=warn"
        )
    if policy == "warn":
        warnings.warn(
            f"{found}; training on it as it is (data.irregular=warn), so windows that cross "
            "these steps span more or less time than the others",
            DataWarning,
            stacklevel=2,
        )
        return frame, ""
    if usual > LONGEST_FIXED_STEP:
        raise DataError(
            f"{found}; steps of {describe_step(usual)} are calendar months or years, which "
            "data.irregular=resample cannot put on a fixed grid: resample the file yourself "
            "(e.g. pandas' df.resample('MS').mean())"
        )
    resampled = frame.resample(usual, origin="start").mean()
    added = int(resampled.isna().all(axis=1).sum())
    merged = len(frame) - (len(resampled) - added)
    resampled = resampled.interpolate(method="time")
    note = (
        f"{source}: resampled to one row every {describe_step(usual)} "
        f"(data.irregular=resample): {added} missing rows filled by linear interpolation in "
        f"time"
    )
    if merged:
        note += f", {merged} rows off that grid averaged into the step they fall in"
    return resampled, note


def describe_step(step: pd.Timedelta) -> str:
    """``2 hours``, ``1 day 6 hours``: a step as people write it."""
    parts = step.components
    units = [(parts.days, "day"), (parts.hours, "hour"), (parts.minutes, "minute")]
    units += [(parts.seconds, "second")]
    text = " ".join(f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in units if n)
    return text or str(step)
