"""The frequency of a timestamp index, as a pandas alias, across pandas versions, and the
lengths that follow from it: the season of seasonal naive, the segment of a model."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import pandas as pd

from stanhop.model.config import DEFAULT_SEGMENT

# The season of a frequency, in its own steps: one day for sub-daily data, one week for
# daily, one year for weekly, monthly and quarterly data.
_SEASON_OF_PERIOD = {"B": 5, "D": 7, "W": 52, "M": 12, "Q": 4}

# A segment short enough that the input holds at least this many (the model's tokens).
MIN_SEGMENTS = 4


def infer_freq(index: pd.DatetimeIndex) -> str | None:
    """The pandas frequency alias of ``index`` (``"h"``, ``"15min"``, ``"W-TUE"``…), or
    ``None`` when the index is too short or irregular."""
    if len(index) < 3:
        return None
    try:
        with _offsets_from_infer_freq():
            freq = pd.infer_freq(index)
    except (TypeError, ValueError):
        return None
    if freq is None:
        return None
    return freq if isinstance(freq, str) else freq.freqstr


def _offsets_from_infer_freq() -> AbstractContextManager[object]:
    """pandas >= 3.1 warns that ``infer_freq`` will return an offset instead of a string;
    opt in to that where the option exists (the caller reads ``.freqstr``)."""
    try:
        pd.get_option("future.infer_freq_returns_offset")
    except pd.errors.OptionError:
        return nullcontext()
    return pd.option_context("future.infer_freq_returns_offset", True)


def season_length(freq: str | None) -> int | None:
    """The number of steps in one season of data at frequency ``freq`` (a pandas alias):
    a day of sub-daily steps (24 for ``h``, 96 for ``15min``), a week of days (7), a year
    of weeks (52), months (12) or quarters (4); None for an unknown or yearly frequency."""
    if not freq:
        return None
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except ValueError:
        return None
    try:
        step = pd.Timedelta(offset)
    except ValueError:  # calendar offsets (months, weeks anchored on a day …) have no fixed span
        step = None
    if step is not None and step < pd.Timedelta(days=1):
        day = pd.Timedelta(days=1)
        return day // step if day % step == pd.Timedelta(0) else None
    if step == pd.Timedelta(days=1):
        return _SEASON_OF_PERIOD["D"]
    # The period code's first letter: "W-SUN" → W, "MS"/"ME" → M, "QS-DEC" → Q, "B" → B.
    code = offset.name.split("-")[0][:1]
    return _SEASON_OF_PERIOD.get(code)


def segment_length(freq: str | None, in_len: int) -> int:
    """The segment of ``model.seg_len=auto`` for data at frequency ``freq`` and an input of
    ``in_len`` steps: one season (a day of hours, a week of days, a year of months), halved
    until the input holds :data:`MIN_SEGMENTS` of them; :data:`DEFAULT_SEGMENT` (at most
    ``in_len``) where the frequency has no season."""
    season = season_length(freq)
    if season is None:
        return min(DEFAULT_SEGMENT, in_len)
    segment = season
    while segment > 1 and in_len < MIN_SEGMENTS * segment:
        segment //= 2
    return segment
