"""Headers pandas would misread: repeated names, another delimiter, decimal commas; and the
sep / decimal options that read such files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stanhop.data import DataError, read_long_csv, read_wide_csv


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "series.csv"
    path.write_text(text)
    return path


def error_of(path: Path, **kwargs: str) -> str:
    with pytest.raises(DataError) as info:
        read_wide_csv(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    return message


def test_a_repeated_column_name_is_an_error_naming_it(tmp_path) -> None:
    # pandas renamed the second 'a' to 'a.1', a series of its own in the checkpoint
    path = write(tmp_path, "date,a,b,a\n2020-01-01,1,2,3\n2020-01-02,1,2,3\n")
    before = path.read_bytes()
    assert error_of(path).endswith(
        ": column name 'a' appears more than once in the header (columns 2 and 4); give "
        "every column its own name on the first line"
    )
    assert path.read_bytes() == before


def test_a_repeated_column_name_in_a_dataframe_is_an_error(tmp_path) -> None:
    from stanhop.data import parse_wide_frame

    frame = pd.DataFrame([["2020-01-01", 1, 2]], columns=["date", "a", "a"])
    with pytest.raises(DataError, match="column name 'a' appears more than once"):
        parse_wide_frame(frame, "DataFrame")


def test_semicolons_with_decimal_commas_are_named_with_both_options(tmp_path) -> None:
    # was: "the first data row has more fields than the header line (e.g. a trailing comma)"
    path = write(tmp_path, "date;a;b\n2020-01-01;1,5;2\n2020-01-02;2,5;3\n")
    assert error_of(path).endswith(
        """: the header is a single column when split at ',', but the file is separated by """
        """semicolons; pass sep=';' ('data.sep=";"' for training, --sep ';' for forecast.py), """
        """and decimal=',' for its decimal commas ('data.decimal=","' for training, """
        """--decimal ',' for forecast.py)"""
    )


def test_tabs_are_named(tmp_path) -> None:
    path = write(tmp_path, "date\ta\n2020-01-01\t1.5\n")
    message = error_of(path)
    assert "separated by tabs; pass sep='\\t'" in message and "decimal" not in message


def test_a_decimal_comma_after_the_right_sep_says_decimal(tmp_path) -> None:
    path = write(tmp_path, "date;a\n2020-01-01;1.5\n2020-01-02;2,5\n")
    assert error_of(path, sep=";").endswith(
        """: non-numeric value '2,5' in column 'a' at line 3, a number with a decimal comma; """
        """pass decimal=',' ('data.decimal=","' for training, --decimal ',' for forecast.py)"""
    )


@pytest.mark.parametrize("sep", [";", "\t", "tab", "\\t", "|"])
def test_sep_and_decimal_read_the_values_exactly(tmp_path, sep) -> None:
    char = "\t" if sep in ("tab", "\\t") else sep
    rows = ["date", "a", "b"], ["2020-01-01", "1,5", "-2,25"], ["2020-01-02", "2,75", "0,5"]
    path = write(tmp_path, "".join(char.join(row) + "\n" for row in rows))
    frame = read_wide_csv(path, sep=sep, decimal=",")
    assert list(frame.columns) == ["a", "b"]
    np.testing.assert_array_equal(frame.to_numpy(), [[1.5, -2.25], [2.75, 0.5]])


def test_the_long_format_takes_sep_and_decimal(tmp_path) -> None:
    path = write(tmp_path, "unique_id;ds;y\nx;2020-01-01;1,5\nx;2020-01-02;2,5\n")
    frame = read_long_csv(path, sep=";", decimal=",")
    np.testing.assert_array_equal(frame["x"].to_numpy(), [1.5, 2.5])


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"sep": ";;"}, "sep=';;' must be one character, e.g. ';', '|' or 'tab'"),
        ({"decimal": ""}, "decimal='' must be one character, e.g. ',' or '.'"),
        ({"sep": ",", "decimal": ","}, "sep and decimal are both ','"),
    ],
)
def test_bad_sep_or_decimal_is_one_line(tmp_path, options, expected) -> None:
    path = write(tmp_path, "date,a\n2020-01-01,1\n")
    assert expected in error_of(path, **options)


def test_a_field_beyond_the_csv_modules_limit_is_still_checked(tmp_path) -> None:
    # found by tests/fuzz: csv.reader raised "field larger than field limit (131072)"
    path = write(tmp_path, "unique_id;ds;y\n" + "x" * 200_000 + "\n")
    assert "separated by semicolons; pass sep=';'" in error_of(path)
