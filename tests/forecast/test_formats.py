"""Input layouts: a history is read by series name in any column order, wide or long,
from a CSV file or a DataFrame, other columns ignored with a warning."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from stanhop.data import DataWarning, to_long
from stanhop.forecast.intervals import to_nixtla


def write(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path)
    return path


def test_columns_in_another_order_give_the_same_forecast(
    synthetic, synthetic_run, reference, tmp_path
):
    shuffled = synthetic_run.frame[list(reversed(synthetic_run.frame.columns))]
    forecast = synthetic.predict(write(tmp_path / "reordered.csv", shuffled))
    assert list(forecast.columns) == list(synthetic_run.frame.columns)  # training order
    pd.testing.assert_frame_equal(forecast, reference)


def test_extra_columns_are_ignored_with_a_one_line_warning(
    synthetic, synthetic_run, reference, tmp_path
) -> None:
    frame = synthetic_run.frame.assign(note="text", extra=1.0)
    with pytest.warns(DataWarning, match=r"ignoring 2 column\(s\).*'note', 'extra'") as caught:
        forecast = synthetic.predict(write(tmp_path / "extra.csv", frame))
    assert all("\n" not in str(w.message) for w in caught)
    pd.testing.assert_frame_equal(forecast, reference)


def test_long_format_gives_the_same_forecast(synthetic, synthetic_run, reference, tmp_path):
    long = to_long(synthetic_run.frame).sample(frac=1.0, random_state=0)  # any row order
    path = tmp_path / "long.csv"
    long.to_csv(path, index=False)
    # long in, long out: the wide reference as Nixtla's long table
    expected = to_nixtla(reference, list(reference.columns), type(synthetic.model).__name__)
    pd.testing.assert_frame_equal(synthetic.predict(path, format="long"), expected)
    pd.testing.assert_frame_equal(synthetic.predict(long), expected)  # told apart by columns


def test_dataframes_are_accepted_as_read_or_with_a_datetime_index(
    synthetic, synthetic_run, reference
) -> None:
    raw = pd.read_csv(synthetic_run.csv)
    pd.testing.assert_frame_equal(synthetic.predict(raw), reference)
    pd.testing.assert_frame_equal(synthetic.predict(synthetic_run.frame), reference)
