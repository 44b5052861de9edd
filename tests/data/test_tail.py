"""Reading the end of a file: read_tail_lines against pandas' own tail, the bytes it reads,
and read_wide_csv(last=…), which reads large files from their end."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stanhop.data import DataError, read_wide_csv, reading
from stanhop.data.tail import count_lines, read_tail_lines


def csv_text(n_rows: int, newline: str = "\n", trailing: bool = True) -> str:
    lines = ["date,a,b"] + [
        f"2020-01-01 {i // 60:02d}:{i % 60:02d},{i},{i / 7}" for i in range(n_rows)
    ]
    return newline.join(lines) + (newline if trailing else "")


def tail_frame(path: Path, n_lines: int, block_size: int) -> pd.DataFrame:
    """The header and the last ``n_lines`` lines of ``path``, parsed by pandas."""
    with path.open("rb") as file:
        header = file.readline()
        offset, data = read_tail_lines(file, n_lines, start=len(header), block_size=block_size)
    assert offset >= len(header)
    return pd.read_csv(io.BytesIO(header + data))


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("trailing", [True, False], ids=["trailing-newline", "no-trailing"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"], ids=["plain", "bom"])
@pytest.mark.parametrize("n_lines", [1, 3, 40, 500])
def test_tail_lines_equal_pandas_tail(tmp_path, newline, trailing, encoding, n_lines) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(csv_text(100, newline, trailing).encode(encoding))
    # blocks of 7 bytes: lines, and the CRLF pairs, fall across blocks
    got = tail_frame(path, n_lines, block_size=7)
    expected = pd.read_csv(path).tail(n_lines).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)


def test_blank_lines_are_kept_but_not_counted(tmp_path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"date,a\n1,1\n2,2\n\n3,3\n  \n\n")
    with path.open("rb") as file:
        assert read_tail_lines(file, 2, start=7) == (11, b"2,2\n\n3,3\n  \n\n")


def test_fewer_lines_than_asked_gives_all_after_start(tmp_path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"date,a\n1,1\n2,2")
    with path.open("rb") as file:
        assert read_tail_lines(file, 5, start=7) == (7, b"1,1\n2,2")
        assert read_tail_lines(file, 5, start=15) == (15, b"")


def test_gives_up_past_max_bytes(tmp_path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"date,a\r" + b"2020-01-01,1\r" * 1000)  # lone-CR line ends: one line
    with path.open("rb") as file:
        assert read_tail_lines(file, 3, max_bytes=4096) is None


class CountingFile(io.RawIOBase):
    """A binary file that counts the bytes read from it."""

    def __init__(self, file: io.BufferedReader) -> None:
        self.file, self.bytes_read = file, 0

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self.file.seek(offset, whence)

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(size)
        self.bytes_read += len(data)
        return data


def test_reads_only_about_the_lines_kept(tmp_path) -> None:
    path = tmp_path / "big.csv"
    path.write_text(csv_text(200_000))  # ~7 MB
    size = path.stat().st_size
    with path.open("rb") as raw:
        file = CountingFile(raw)
        offset, data = read_tail_lines(file, 100)
    assert data.count(b"\n") == 100 and offset + len(data) == size
    assert file.bytes_read < 2 * 65536 < size / 50


def test_count_lines_counts_line_ends_before_an_offset(tmp_path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"a\nb\r\nc\nd")
    with path.open("rb") as file:
        assert [count_lines(file, end, block_size=2) for end in (0, 2, 5, 7, 99)] == [
            0,
            1,
            2,
            3,
            3,
        ]


# --- read_wide_csv(last=…) ---------------------------------------------------------------


@pytest.fixture
def any_size_is_large(monkeypatch) -> None:
    """Every file counts as large, so small test files are read from their end."""
    monkeypatch.setattr(reading, "TAIL_MIN_BYTES", 0)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "series.csv"
    path.write_text(text)
    return path


def with_cell(text: str, line: int, value: str) -> str:
    """``text`` with the last cell of 1-based ``line`` replaced by ``value``."""
    lines = text.split("\n")
    lines[line - 1] = lines[line - 1].rsplit(",", 1)[0] + "," + value
    return "\n".join(lines)


@pytest.mark.usefixtures("any_size_is_large")
def test_last_rows_equal_those_of_the_full_read(tmp_path) -> None:
    path = write(tmp_path, csv_text(1000))
    full = read_wide_csv(path)
    tail = read_wide_csv(path, last=30)
    assert len(tail) == 30
    pd.testing.assert_frame_equal(tail, full.iloc[-30:])


@pytest.mark.usefixtures("any_size_is_large")
def test_errors_in_the_last_rows_name_the_line_in_the_file(tmp_path) -> None:
    path = write(tmp_path, with_cell(csv_text(1000), 995, "abc"))
    with pytest.raises(DataError, match="'abc' in column 'b' at line 995;"):
        read_wide_csv(path, last=30)


@pytest.mark.usefixtures("any_size_is_large")
def test_only_the_rows_read_are_validated(tmp_path) -> None:
    path = write(tmp_path, with_cell(csv_text(1000), 5, "abc"))
    with pytest.raises(DataError, match="at line 5;"):
        read_wide_csv(path)
    assert len(read_wide_csv(path, last=30)) == 30


@pytest.mark.usefixtures("any_size_is_large")
def test_an_empty_first_cell_reads_the_whole_file_to_fill_it(tmp_path) -> None:
    # with ffill, the gap at the first of the last 30 rows is filled from the row above
    path = write(tmp_path, with_cell(csv_text(1000), 1002 - 30, ""))
    tail = read_wide_csv(path, nan_policy="ffill", last=30)
    pd.testing.assert_frame_equal(tail, read_wide_csv(path, nan_policy="ffill"))
    assert tail["b"].iloc[-30] == pytest.approx(969 / 7)  # line 971's value


@pytest.mark.usefixtures("any_size_is_large")
@pytest.mark.filterwarnings("ignore:.*ignoring 1 column")
def test_quoted_fields_that_span_lines_read_the_whole_file(tmp_path) -> None:
    lines = csv_text(200).splitlines()
    text = "\n".join(
        [lines[0] + ",note"] + [f'{line},"a\n{i},b"' for i, line in enumerate(lines[1:])]
    )
    path = write(tmp_path, text + "\n")
    tail = read_wide_csv(path, series=["a", "b"], last=10)
    pd.testing.assert_frame_equal(tail, read_wide_csv(path, series=["a", "b"]))
    assert tail["a"].tolist() == list(np.arange(200.0))


def test_small_files_are_read_whole(tmp_path) -> None:
    path = write(tmp_path, with_cell(csv_text(1000), 5, "abc"))
    assert path.stat().st_size < reading.TAIL_MIN_BYTES
    with pytest.raises(DataError, match="at line 5;"):
        read_wide_csv(path, last=30)


# Lines of every kind the whole-file reader meets, and its verdict on them: dropped (a line
# empty throughout), or refused with the same message read from the end as read whole.
ODD_LINES = {
    "blank": "",
    "spaces": "   ",
    "commas": ",,",
    "fewer-commas": ",",
    "more-commas": ",,,",
    "comment": "# exported by a logger",
    "quoted": '"2020-01-01 09:00",1,2',
    "short": "2020-01-01 09:00,1",
    "long": "2020-01-01 09:00,1,2,3",
    "crlf-commas": ",,\r",
}


@pytest.mark.usefixtures("any_size_is_large")
@pytest.mark.filterwarnings("ignore:.*ignoring 1 column")
@pytest.mark.parametrize("from_end", [0, 1, 2, 3, 5])
@pytest.mark.parametrize("kind", list(ODD_LINES))
@pytest.mark.parametrize("series", [None, ["b"]], ids=["all", "one-series"])
def test_odd_lines_give_the_same_rows_or_error_read_whole_or_from_the_end(
    tmp_path, kind, from_end, series
) -> None:
    lines = csv_text(20).splitlines()
    lines.insert(len(lines) - from_end, ODD_LINES[kind])
    path = write(tmp_path, "\n".join(lines) + "\n")
    try:
        full = read_wide_csv(path, series=series)
    except DataError as err:
        if from_end < 3:  # the odd line is among the last 3 rows: read from the end too
            with pytest.raises(DataError, match=f"^{re.escape(str(err))}$"):
                read_wide_csv(path, series=series, last=3)
        return
    tail = read_wide_csv(path, series=series, last=3)
    assert len(tail) >= 3
    pd.testing.assert_frame_equal(tail, full.iloc[len(full) - len(tail) :])


@pytest.mark.usefixtures("any_size_is_large")
def test_a_line_of_commas_among_the_last_rows_is_not_counted_as_one(tmp_path) -> None:
    # a wide CSV of 8 rows whose last ones hold a line of only commas: read whole, the
    # line is dropped; read from the end, the last 3 rows are still 3 rows
    lines = csv_text(8).splitlines()
    lines.insert(len(lines) - 1, ",,")
    path = write(tmp_path, "\n".join(lines) + "\n")
    full = read_wide_csv(path)
    assert len(full) == 8
    tail = read_wide_csv(path, last=3)
    assert len(tail) >= 3
    pd.testing.assert_frame_equal(tail, full.iloc[len(full) - len(tail) :])


@pytest.mark.usefixtures("any_size_is_large")
def test_many_empty_lines_at_the_end_are_read_past(tmp_path) -> None:
    path = write(tmp_path, csv_text(100) + ",,\n" * 500 + "\n" * 500)
    tail = read_wide_csv(path, last=30)
    full = read_wide_csv(path)
    assert len(tail) >= 30
    pd.testing.assert_frame_equal(tail, full.iloc[len(full) - len(tail) :])
