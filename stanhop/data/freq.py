"""The frequency of a timestamp index, as a pandas alias, across pandas versions."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import pandas as pd


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
