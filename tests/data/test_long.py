"""The long layout (unique_id, ds, y): pivoted to the wide frame, and every problem named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stanhop.data import DataError, DataWarning, parse_long_frame, read_long_csv, to_long


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "long.csv"
    path.write_text(text)
    return path


def error_of(path: Path, **kwargs) -> str:
    with pytest.raises(DataError) as info:
        read_long_csv(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_rows_in_any_order_pivot_to_one_column_per_series(tmp_path) -> None:
    text = (
        "unique_id,ds,y,extra\n"
        "b,2020-01-02,4,x\n"
        "a,2020-01-01,1,x\n"
        "b,2020-01-01,3,x\n"
        "a,2020-01-02,2,x\n"
    )
    frame = read_long_csv(write(tmp_path, text))
    expected = pd.DataFrame(
        {"b": [3.0, 4.0], "a": [1.0, 2.0]},
        index=pd.DatetimeIndex(["2020-01-01", "2020-01-02"], name="ds"),
    )
    pd.testing.assert_frame_equal(frame, expected)  # series in order of first appearance


def test_to_long_inverts_the_pivot() -> None:
    index = pd.date_range("2020-01-01", periods=3, freq="D", name="ds")
    wide = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y2": [4.0, 5.0, 6.0]}, index=index)
    long = to_long(wide)
    assert list(long.columns) == ["unique_id", "ds", "y"]
    assert long["unique_id"].tolist() == ["x"] * 3 + ["y2"] * 3
    pd.testing.assert_frame_equal(parse_long_frame(long, "t"), wide, check_freq=False)


def test_series_are_selected_in_the_order_asked_and_others_warned_about(tmp_path) -> None:
    text = "unique_id,ds,y\na,2020-01-01,1\nb,2020-01-01,2\nc,2020-01-01,3\n"
    with pytest.warns(DataWarning, match="'b'"):
        frame = read_long_csv(write(tmp_path, text), series=["c", "a"])
    assert list(frame.columns) == ["c", "a"] and frame.iloc[0].tolist() == [3.0, 1.0]


def test_missing_series_are_named(tmp_path) -> None:
    path = write(tmp_path, "unique_id,ds,y\na,2020-01-01,1\n")
    assert "'z'" in error_of(path, series=["a", "z"])


def test_a_missing_observation_is_a_nan_handled_by_the_policy(tmp_path) -> None:
    text = "unique_id,ds,y\na,2020-01-01,1\na,2020-01-02,2\na,2020-01-03,3\nb,2020-01-01,5\n"
    path = write(tmp_path, text)
    assert "column 'b' (2)" in error_of(path)
    np.testing.assert_array_equal(read_long_csv(path, nan_policy="ffill")["b"], [5, 5, 5])


def test_wrong_columns_say_what_the_long_format_needs(tmp_path) -> None:
    message = error_of(write(tmp_path, "date,a,b\n2020-01-01,1,2\n"))
    assert "'unique_id', 'ds', 'y'" in message and "wide format" in message


def test_a_repeated_series_and_timestamp_names_the_line(tmp_path) -> None:
    path = write(tmp_path, "unique_id,ds,y\na,2020-01-01,1\nb,2020-01-01,1\na,2020-01-01,2\n")
    message = error_of(path)
    assert "'a'" in message and "'2020-01-01'" in message and "line 4" in message


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("a,someday,1", "unparsable timestamp 'someday' in column 'ds' at line 3"),
        ("a,2020-01-02,many", "non-numeric value 'many' in column 'y' at line 3"),
        (",2020-01-02,1", "empty unique_id at line 3"),
    ],
)
def test_bad_cells_name_the_line(tmp_path, row, expected) -> None:
    path = write(tmp_path, f"unique_id,ds,y\na,2020-01-01,1\n{row}\n")
    assert expected in error_of(path)
