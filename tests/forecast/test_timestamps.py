"""Future timestamps: continued at the input's frequency, checked against hand-written
calendars."""

from __future__ import annotations

import pandas as pd
import pytest

from stanhop.data import DataError, DataWarning
from stanhop.forecast import future_index


def stamps(*values: str, tz: str | None = None) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(values, name="date", tz=tz)


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        (
            pd.date_range("2020-01-01 22:00", periods=5, freq="h"),
            ["2020-01-02 03:00", "2020-01-02 04:00", "2020-01-02 05:00"],
        ),
        (  # month starts, across a year end
            stamps("2020-09-01", "2020-10-01", "2020-11-01", "2020-12-01"),
            ["2021-01-01", "2021-02-01", "2021-03-01"],
        ),
        (  # business days (the history spans a weekend): Friday is followed by Monday
            pd.bdate_range("2024-05-14", "2024-05-23", name="date"),
            ["2024-05-24", "2024-05-27", "2024-05-28"],
        ),
        (  # weekly on Tuesdays (ILI)
            stamps("2002-01-01", "2002-01-08", "2002-01-15"),
            ["2002-01-22", "2002-01-29", "2002-02-05"],
        ),
    ],
    ids=["hourly", "monthly", "business-days", "weekly"],
)
def test_the_next_steps_continue_the_calendar(index, expected) -> None:
    future = future_index(index, 3, None, "t")
    assert list(future) == [pd.Timestamp(e) for e in expected]


def test_the_time_zone_and_index_name_are_kept() -> None:
    index = stamps("2020-03-29 00:00", "2020-03-29 01:00", "2020-03-29 02:00", tz="UTC")
    future = future_index(index, 2, "h", "t")
    assert future.tz is not None and str(future.tz) == "UTC" and future.name == "date"
    assert list(future) == [
        pd.Timestamp("2020-03-29 03:00", tz="UTC"),
        pd.Timestamp("2020-03-29 04:00", tz="UTC"),
    ]


def test_too_few_stamps_to_infer_fall_back_to_the_trained_frequency() -> None:
    future = future_index(stamps("2020-01-01 00:00", "2020-01-01 00:15"), 2, "15min", "t")
    assert list(future) == [pd.Timestamp("2020-01-01 00:30"), pd.Timestamp("2020-01-01 00:45")]
    with pytest.raises(DataError, match="too few"):
        future_index(stamps("2020-01-01 00:00", "2020-01-01 00:15"), 2, None, "t")


def test_irregular_stamps_name_the_odd_step() -> None:
    index = stamps("2020-01-01 00:00", "2020-01-01 01:00", "2020-01-01 03:00", "2020-01-01 04:00")
    with pytest.raises(DataError) as info:
        future_index(index, 2, "h", "t")
    message = str(info.value)
    assert "from 2020-01-01 01:00:00 to 2020-01-01 03:00:00 is 2 hours" in message
    assert "elsewhere 1 hour" in message and "resample('h')" in message


def test_a_frequency_other_than_the_trained_one_is_warned_about() -> None:
    index = pd.date_range("2020-01-01", periods=4, freq="D")
    with pytest.warns(DataWarning, match="'D' but the model was trained on 'h'"):
        future = future_index(index, 1, "h", "t")
    assert list(future) == [pd.Timestamp("2020-01-05")]
