"""Seasons and segments from a frequency: against the calendar they name."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stanhop.data.freq import (
    DEFAULT_SEGMENT,
    MIN_SEGMENTS,
    season_length,
    segment_length,
)

FREQS = ("5min", "10min", "15min", "h", "D", "B", "W-SUN", "MS", "ME", "QS-DEC", "YS", None)


@pytest.mark.parametrize(
    ("freq", "in_len", "segment"),
    [
        ("h", 168, 24),  # a day of hours, seven in a week of input
        ("h", 96, 24),  # four days
        ("h", 48, 12),  # two days hold only two days: half a day
        ("5min", 288, 72),  # a day of 5 minutes in one day of input: a quarter of it
        ("10min", 144, 36),
        ("D", 112, 7),  # a week of days
        ("D", 56, 7),
        ("W-SUN", 104, 26),  # two years of weeks: half a year
        ("MS", 48, 12),  # four years of months: a year
        ("QS-DEC", 16, 4),
        ("YS", 30, DEFAULT_SEGMENT),  # no season
        (None, 96, DEFAULT_SEGMENT),
        (None, 8, 8),  # never longer than the input
    ],
)
def test_the_segment_is_a_season_halved_until_the_input_holds_four(freq, in_len, segment):
    assert segment_length(freq, in_len) == segment


@given(st.sampled_from(FREQS), st.integers(1, 2000))
def test_a_segment_fits_the_input_and_divides_a_season_by_a_power_of_two(freq, in_len):
    segment = segment_length(freq, in_len)
    season = season_length(freq)
    assert 1 <= segment <= max(in_len, 1)
    if season is None:
        assert segment == min(DEFAULT_SEGMENT, in_len)
        return
    # the longest of season, season // 2, season // 4, ... the input holds four times
    candidates = [season >> k for k in range(season.bit_length()) if season >> k >= 1]
    fitting = [c for c in candidates if in_len >= MIN_SEGMENTS * c]
    assert segment == (fitting[0] if fitting else 1)
