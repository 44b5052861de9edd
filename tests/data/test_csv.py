"""read_wide_csv: the benchmark date formats, every user-facing failure, NaN policies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stanhop.data import (
    DataError,
    DataNote,
    DataWarning,
    infer_freq,
    read_long_csv,
    read_wide_csv,
    reading,
)


def write(tmp_path: Path, text: str, name: str = "series.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(path: Path, **kwargs: str) -> str:
    """The message of the DataError read_wide_csv raises; it is one line naming the file."""
    with pytest.raises(DataError) as info:
        read_wide_csv(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    return message


@pytest.mark.parametrize(
    ("benchmark", "stamps", "expected"),
    [
        (
            "ETT",
            ["2016-07-01 00:00:00", "2016-07-01 01:00:00"],
            ["2016-07-01 00:00", "2016-07-01 01:00"],
        ),
        ("WTH", ["1/1/2010 0:00", "12/31/2010 23:00"], ["2010-01-01 00:00", "2010-12-31 23:00"]),
        ("Exchange", ["1990/1/1 0:00", "1990/1/12 0:00"], ["1990-01-01", "1990-01-12"]),
        ("ILI", ["2002-01-01 00:00:00", "2002-01-08 00:00:00"], ["2002-01-01", "2002-01-08"]),
    ],
)
def test_benchmark_date_formats_parse(tmp_path, benchmark, stamps, expected) -> None:
    rows = "".join(f"{s},{i}.5\n" for i, s in enumerate(stamps))
    frame = read_wide_csv(write(tmp_path, "date,x\n" + rows))
    assert list(frame.index) == [pd.Timestamp(e) for e in expected], benchmark
    assert frame.index.name == "date"
    assert frame["x"].tolist() == [0.5, 1.5]


def test_frame_has_float64_columns_in_file_order_and_named_index(tmp_path) -> None:
    path = write(tmp_path, "time,b,a,c\n2020-01-01,1,2,3\n2020-01-02,4,5,6\n")
    frame = read_wide_csv(path)
    assert list(frame.columns) == ["b", "a", "c"]
    assert (frame.dtypes == np.float64).all()
    assert isinstance(frame.index, pd.DatetimeIndex) and frame.index.name == "time"
    np.testing.assert_array_equal(frame.to_numpy(), [[1, 2, 3], [4, 5, 6]])


def test_date_column_may_be_any_column(tmp_path) -> None:
    path = write(tmp_path, "a,when,b\n1,2020-01-01,2\n3,2020-01-02,4\n")
    frame = read_wide_csv(path, date_column="when")
    assert list(frame.columns) == ["a", "b"] and frame.index.name == "when"
    assert frame.loc["2020-01-02", "b"] == 4.0


def test_missing_file(tmp_path) -> None:
    assert "not found" in error_of(tmp_path / "absent.csv")


def test_empty_file(tmp_path) -> None:
    assert "empty" in error_of(write(tmp_path, ""))


def test_header_without_rows(tmp_path) -> None:
    assert "no data rows" in error_of(write(tmp_path, "date,a,b\n"))


def test_unknown_date_column_lists_the_columns(tmp_path) -> None:
    message = error_of(write(tmp_path, "date,a\n2020-01-01,1\n"), date_column="time")
    assert "'time'" in message and "'date', 'a'" in message


def test_no_series_columns(tmp_path) -> None:
    assert "no series columns" in error_of(write(tmp_path, "date\n2020-01-01\n2020-01-02\n"))


def test_no_numeric_series_columns(tmp_path) -> None:
    path = write(tmp_path, "date,site,kind\n2020-01-01,x,y\n2020-01-02,z,w\n")
    assert "no numeric series columns" in error_of(path)


def test_non_numeric_cell_names_column_line_and_value(tmp_path) -> None:
    # the blank line still counts: 'oops' is on line 5 of the file
    text = "date,a,b\n2020-01-01,1,2\n2020-01-02,3,4\n\n2020-01-03,5,oops\n2020-01-04,x,8\n"
    message = error_of(write(tmp_path, text))
    assert "'oops'" in message and "column 'b'" in message and "line 5" in message


def test_infinite_value_is_rejected(tmp_path) -> None:
    message = error_of(write(tmp_path, "date,a\n2020-01-01,1\n2020-01-02,inf\n"))
    assert "column 'a'" in message and "line 3" in message


def test_unparsable_timestamp_names_line_and_value(tmp_path) -> None:
    text = "date,a\n2020-01-01 00:00,1\n2020-01-01 01:00,2\n2020-13-45 00:00,3\n"
    message = error_of(write(tmp_path, text))
    assert "'2020-13-45 00:00'" in message and "line 4" in message


def test_timestamps_in_mixed_formats_are_parsed_one_by_one(tmp_path) -> None:
    frame = read_wide_csv(write(tmp_path, "date,a\n2020-01-01 00:00,1\n1/2/2020 0:00,2\n"))
    assert list(frame.index) == [pd.Timestamp("2020-01-01"), pd.Timestamp("2020-01-02")]


def test_empty_timestamp(tmp_path) -> None:
    message = error_of(write(tmp_path, "date,a\n2020-01-01,1\n,2\n"))
    assert "empty timestamp" in message and "line 3" in message


def test_duplicate_timestamp_names_line_and_value(tmp_path) -> None:
    text = "date,a\n2020-01-01,1\n2020-01-02,2\n2020-01-02,3\n"
    message = error_of(write(tmp_path, text))
    assert "duplicate" in message and "'2020-01-02'" in message and "line 4" in message


def test_unsorted_timestamps_name_the_line(tmp_path) -> None:
    text = "date,a\n2020-01-01,1\n2020-01-03,2\n2020-01-02,3\n"
    message = error_of(write(tmp_path, text))
    assert "not sorted" in message and "line 4" in message


def test_nans_are_an_error_by_default(tmp_path) -> None:
    text = "date,a,b\n2020-01-01,1,\n2020-01-02,NaN,2\n2020-01-03,3,\n"
    message = error_of(write(tmp_path, text))
    assert "'a' (1)" in message and "'b' (2)" in message
    assert "nan_policy=ffill|interpolate" in message


def test_unknown_nan_policy_lists_the_valid_ones(tmp_path) -> None:
    message = error_of(write(tmp_path, "date,a\n2020-01-01,1\n"), nan_policy="zero")
    assert "'zero'" in message and "error, ffill, interpolate" in message


# Gaps at both ends and in the middle; the hours are uneven (02:00 is absent) so that
# interpolation in time differs from interpolation by row.
GAPPY = """date,a,b
2020-01-01 00:00,,1
2020-01-01 01:00,2,
2020-01-01 03:00,,4
2020-01-01 04:00,5,5
2020-01-01 05:00,6,
"""


def test_ffill_fills_forward_then_leading_gaps_backward(tmp_path) -> None:
    frame = read_wide_csv(write(tmp_path, GAPPY), nan_policy="ffill")
    assert frame["a"].tolist() == [2, 2, 2, 5, 6]
    assert frame["b"].tolist() == [1, 1, 4, 5, 5]


def test_interpolate_is_linear_in_time_with_filled_edges(tmp_path) -> None:
    frame = read_wide_csv(write(tmp_path, GAPPY), nan_policy="interpolate")
    # a at 03:00 lies 2 of the 3 hours from 01:00 (2) to 04:00 (5): 2 + 3 * 2/3 = 4
    np.testing.assert_allclose(frame["a"], [2, 2, 4, 5, 6])
    # b at 01:00 lies 1 of the 3 hours from 00:00 (1) to 03:00 (4): 1 + 3 * 1/3 = 2
    np.testing.assert_allclose(frame["b"], [1, 2, 4, 5, 5])


def test_a_column_without_any_value_cannot_be_filled(tmp_path) -> None:
    path = write(tmp_path, "date,a,b\n2020-01-01,1,\n2020-01-02,2,\n")
    assert "'b' has no values" in error_of(path, nan_policy="ffill")


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        (pd.date_range("2020-01-01", periods=10, freq="h"), "h"),
        (pd.date_range("2020-01-01", periods=10, freq="15min"), "15min"),
        (pd.date_range("2002-01-01", periods=10, freq="W-TUE"), "W-TUE"),
        (pd.DatetimeIndex(["2020-01-01", "2020-01-02", "2020-01-04"]), None),
        (pd.DatetimeIndex(["2020-01-01", "2020-01-02"]), None),
    ],
)
def test_infer_freq(index, expected) -> None:
    assert infer_freq(index) == expected


@pytest.mark.parametrize(
    ("name", "shape", "freq", "first", "last"),
    [
        ("ETTh1.csv", (17420, 7), "h", "2016-07-01 00:00", "2018-06-26 19:00"),
        ("WTH.csv", (35064, 12), "h", "2010-01-01 00:00", "2013-12-31 23:00"),
        ("national_illness.csv", (966, 7), "W-TUE", "2002-01-01", "2020-06-30"),
    ],
)
def test_reads_the_benchmark_files(shared_csv, name, shape, freq, first, last) -> None:
    frame = read_wide_csv(shared_csv(name))
    assert frame.shape == shape
    assert infer_freq(frame.index) == freq
    assert (frame.index[0], frame.index[-1]) == (pd.Timestamp(first), pd.Timestamp(last))


# --- found by tests/fuzz: each was a traceback, a silent wrong result or a poor message ----


@pytest.mark.parametrize("extra", [1, 100_000])
def test_a_first_row_with_extra_fields_is_refused(tmp_path, extra) -> None:
    # pandas took the extra fields for row labels and shifted every column: a TypeError,
    # and a MultiIndex of 100,000 levels that took minutes to build
    path = write(tmp_path, "date,a\n2020-01-01,1" + ",5" * extra + "\n2020-01-02,2\n")
    assert "first data row has more fields than the header" in error_of(path)
    with pytest.raises(DataError, match="first data row has more fields than the header"):
        read_wide_csv(path, series=["a"])  # as when every column is read


def test_an_empty_first_line_is_a_missing_header(tmp_path) -> None:
    # pandas found no columns at all (an IndexError)
    path = write(tmp_path, "\ndate,a\n2020-01-01,1\n")
    assert "the first line is empty" in error_of(path)


def test_a_series_read_as_the_timestamps_is_refused(tmp_path) -> None:
    # the first column, taken for the timestamps, was also a requested series (ValueError)
    path = write(tmp_path, "a,b\n1,2\n3,4\n")
    message = error_of(path, series=["b", "a"])
    assert "column 'a' is a series" in message and "date_column" in message


def test_a_number_beyond_float64_names_the_cell_not_a_numpy_repr(tmp_path) -> None:
    # pandas reads 1e400 as inf; the message said "non-numeric value np.float64(inf)"
    message = error_of(write(tmp_path, "date,a\n2020-01-01,1\n2020-01-02,1e400\n"))
    assert "infinite value in column 'a' at line 3" in message and "np." not in message


def test_a_file_that_is_not_utf8_says_to_save_it_as_utf8(tmp_path) -> None:
    path = tmp_path / "series.csv"
    path.write_bytes("date,a\n2020-01-01,1\n".encode("utf-16"))
    message = error_of(path)
    assert "not a CSV of UTF-8 text (byte 0xff" in message and "saved as UTF-8" in message


def test_timestamps_parsed_one_by_one_give_no_pandas_warning(tmp_path, recwarn) -> None:
    # pandas' "Could not infer format" warning became a second line of forecast.py's error
    message = error_of(write(tmp_path, "date,a\n1,1\n2,2\n"))
    assert "unparsable timestamp '1'" in message
    assert [str(w.message) for w in recwarn] == []


def test_mixed_utc_offsets_say_what_to_do(tmp_path) -> None:
    text = "date,a\n2020-01-01T00:00+01:00,1\n2020-01-02T00:00+02:00,2\n"
    assert "with the same UTC offset or none" in error_of(write(tmp_path, text))


def test_a_header_of_thousands_of_repeated_names_is_refused_at_once(tmp_path) -> None:
    # pandas renames repeats in quadratic time: 200,000 of them hung for a quarter hour
    path = write(tmp_path, ",".join(["x"] * 5000) + "\n" + ",".join(["1"] * 5000) + "\n")
    assert "column name 'x' appears more than once in the header (columns 1 and 2; 4999 " in (
        error_of(path)
    )


@pytest.mark.parametrize("column", [0, 1], ids=["timestamp", "value"])
def test_a_huge_cell_is_quoted_short_and_not_parsed_for_long(tmp_path, column) -> None:
    # a 400,000-character cell was quoted whole in the "one-line" message, and a timestamp
    # of that many digits took dateutil 5 s (its time grows with the square of the length)
    cells = ["2020-01-02", "2"]
    cells[column] = "1" * 400_000
    path = write(tmp_path, "date,a\n2020-01-01,1\n" + ",".join(cells) + "\n")
    message = error_of(path)
    assert "'1111" in message and "…" in message and len(message) < 300


# --- rows with a field too many, and pandas' own index column --------------------------


@pytest.mark.parametrize("series", [None, ["a"], ["b", "a"]], ids=["all", "one", "reordered"])
@pytest.mark.parametrize("last", [None, 2])
def test_a_later_row_with_a_field_too_many_is_refused_whatever_is_read(
    tmp_path, monkeypatch, series, last
) -> None:
    # an unquoted decimal comma (1,5) shifts the rest of its row one column to the right
    monkeypatch.setattr(reading, "TAIL_MIN_BYTES", 0)
    path = write(tmp_path, "date,a,b\n2020-01-01,1,2\n2020-01-02,1,5,3\n2020-01-03,4,5\n")
    message = error_of(path, series=series, last=last)
    assert "Expected 3 fields in line 3, saw 4" in message


def test_a_long_file_row_with_a_field_too_many_is_refused(tmp_path) -> None:
    path = write(tmp_path, "unique_id,ds,y\na,2020-01-01,1\na,2020-01-02,1,5\n")
    with pytest.raises(DataError, match="Expected 3 fields in line 3, saw 4"):
        read_long_csv(path)


def to_csv_with_index(tmp_path: Path, start: int = 0) -> tuple[Path, pd.DataFrame]:
    """A frame written by DataFrame.to_csv(path), pandas' integer row numbers kept as an
    unnamed first column (from ``start``: 1000 and on read as years)."""
    frame = pd.DataFrame(
        {
            "date": pd.date_range("2021-03-01", periods=6, freq="h").astype(str),
            "a": np.arange(6.0),
            "b": np.arange(6.0) / 3,
        },
        index=range(start, start + 6),
    )
    path = tmp_path / "series.csv"
    frame.to_csv(path)
    return path, frame


@pytest.mark.filterwarnings("ignore:.*ignoring 1 column")
@pytest.mark.parametrize("start", [0, 1000])
@pytest.mark.parametrize("series", [None, ["b"]])
def test_pandas_row_numbers_in_an_unnamed_first_column_are_dropped_with_a_warning(
    tmp_path, start, series
) -> None:
    path, frame = to_csv_with_index(tmp_path, start)
    with pytest.warns(DataWarning, match=r"ignoring the first column 'Unnamed: 0'.*index=False"):
        read = read_wide_csv(path, series=series)
    assert list(read.index) == list(pd.to_datetime(frame["date"]))
    assert read.index.name == "date"
    assert list(read.columns) == (series or ["a", "b"])


def test_an_unnamed_first_column_of_timestamps_stays_the_timestamps(tmp_path) -> None:
    # DataFrame.to_csv of a frame indexed by unnamed timestamps: the usual wide file
    frame = pd.DataFrame(
        {"a": [1.0, 2.0], "b": [3.0, 4.0]}, index=pd.date_range("2021-03-01", periods=2)
    )
    frame.to_csv(tmp_path / "x.csv")
    read = read_wide_csv(tmp_path / "x.csv")
    assert list(read.index) == list(frame.index) and list(read.columns) == ["a", "b"]


def test_a_named_integer_first_column_is_read_as_asked(tmp_path) -> None:
    path = write(tmp_path, "year,a,b\n2001,1,2\n2002,3,4\n")
    assert list(read_wide_csv(path).index.year) == [2001, 2002]


# --- messages that name the likely cause --------------------------------------------------


def test_a_series_renamed_by_case_is_named_as_the_near_miss(tmp_path) -> None:
    path = write(tmp_path, "date,ot,b\n2020-01-01,1,2\n")
    message = error_of(path, series=["OT", "b"])
    assert "missing series column(s) 'OT' (the data has 'ot' for 'OT'" in message
    assert "case included; rename them" in message


def test_day_first_dates_are_read_day_first_with_a_note(tmp_path) -> None:
    # the first dates (01/01 … 12/01) read month first would be 1 January … 1 December
    dates = pd.date_range("2024-01-01", periods=40, freq="D")
    path = write(tmp_path, "date,a\n" + "".join(f"{d:%d/%m/%Y},{i}\n" for i, d in enumerate(dates)))
    with pytest.warns(DataNote, match=r"read day first, as '13/01/2024' shows"):
        frame = read_wide_csv(path)
    assert list(frame.index) == list(dates)


def test_month_first_dates_stay_month_first(tmp_path) -> None:
    dates = pd.date_range("2024-01-01", periods=40, freq="D")
    path = write(tmp_path, "date,a\n" + "".join(f"{d:%m/%d/%Y},{i}\n" for i, d in enumerate(dates)))
    assert list(read_wide_csv(path).index) == list(dates)
