"""Fuzzed bad input: malformed CSVs fed to the readers and to the forecast command.

Each case is a good CSV with a few mutations (odd cells, mixed types, huge values, empty
or duplicate columns, a missing header, ragged rows, quoted newlines, other delimiters,
line ends and encodings, BOMs, NUL bytes, very long lines, truncation…) or plain random
bytes. The property: a case ends in a valid result or in a one-line error — never in
another exception, a hang, or output of the wrong shape.

- readers: a frame with a sorted DatetimeIndex and finite float64 columns (the NaN
  policy applied), or a :class:`DataError` whose message is one line. The wide reader is
  also run on the file's tail only (``last=``), which must agree with the full read.
- the command: exit status 0 with a forecast of ``horizon`` rows, one column per trained
  series, finite values; or exit status 2 with one line ``error: …`` on stderr (after
  any one-line warnings about the input), and no traceback.

The number of cases each test ran is printed in pytest's summary ("fuzz cases").
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stanhop.cli.forecast import main
from stanhop.data import (
    NAN_POLICIES,
    DataError,
    make_synthetic,
    read_long_csv,
    read_wide_csv,
    reading,
    to_long,
)

ROOT = Path(__file__).resolve().parents[2]
SERIES = ["s0", "s1", "s2"]
OUT_LEN = 12  # of the synthetic_run checkpoint (debug=fast)
# Case counts relative to the loaded profile's (tests/conftest.py): the pinned "ci" profile
# runs the file in well under a minute on two busy cores, "explore" twenty times as many.
FUZZ = settings(max_examples=settings.default.max_examples * 3 // 2)
CLI_FUZZ = settings(FUZZ, max_examples=settings.default.max_examples * 2 // 5)
# A case that takes longer than this has hung (a normal one takes milliseconds).
HANG_SECONDS = 60
# Warnings are no part of the readers' property (mangled files draw pandas' parser warnings
# and stanhop's about ignored columns); the command's are checked on its stderr.
pytestmark = [
    pytest.mark.filterwarnings("ignore::stanhop.data.DataWarning"),
    pytest.mark.filterwarnings("ignore::pandas.errors.ParserWarning"),
    pytest.mark.filterwarnings("ignore::pandas.errors.DtypeWarning"),
]


# --- the CSVs ----------------------------------------------------------------------------


@dataclass
class Table:
    """A CSV before rendering: cells as text, so that mutations can put anything in."""

    header: list[str] | None
    rows: list[list[str]]
    time_column: int  # where the timestamps are


def table_of(frame: pd.DataFrame, time_column: str) -> Table:
    rows = [[str(v) for v in row] for row in frame.astype(object).itertuples(index=False)]
    header = [str(c) for c in frame.columns]
    return Table(header, rows, header.index(time_column))


HOURLY = make_synthetic(n_series=3, n_steps=24 * 30, seed=1)  # the synthetic_run data
WIDE, WIDE_60 = HOURLY.iloc[-8:].reset_index(), HOURLY.iloc[-60:].reset_index()
LONG, LONG_60 = to_long(HOURLY.iloc[-6:]), to_long(HOURLY.iloc[-60:])  # 60 >= in_len = 48

ODD_CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "1e308",
            "-1e308",
            "1e400",
            "-1e400",
            "inf",
            "-inf",
            "nan",
            "NaN",
            "NULL",
            "N/A",
            "abc",
            "1,5",
            "1;5",
            "0x10",
            "1e",
            "--1",
            "True",
            "\x00",
            "é",
            "€",
            '"',
            "'",
            "2024-01-01",
            " 3.5 ",
            "1_000",
            "١٢٣",
            "1" * 400,
            "9" * 40,
        ]
    ),
    st.text(max_size=12),
    st.floats().map(repr),
    st.integers().map(str),
)
ODD_TIMESTAMPS = st.one_of(
    st.sampled_from(
        [
            "",
            "soon",
            "2024-13-45",
            "2024-01-30T23:00+05:00",
            "2024-01-30 23:00:00+00:00",
            "0",
            "1e20",
            "9999-12-31 23:00:00",
            "1677-09-21",
            "2262-04-11 23:47:16",
            "2024-01-30 22:00:00",
            "30/01/2024 23:00",
            "Jan 30 2024 11pm",
            "NaT",
            "2024",
        ]
    ),
    st.datetimes().map(str),
    st.text(max_size=20),
)


# The mutations: each edits the table in place, drawing the choices it needs.


def _cell(draw: Callable, table: Table) -> tuple[list[str], int] | None:
    """A random row of ``table`` and a column in it, or ``None`` when there is none."""
    if not table.rows:
        return None
    row = draw(st.sampled_from(table.rows))
    return (row, draw(st.integers(0, len(row) - 1))) if row else None


def odd_cell(draw: Callable, table: Table) -> None:
    if (spot := _cell(draw, table)) is not None:
        row, col = spot
        row[col] = draw(ODD_CELLS)


def odd_timestamp(draw: Callable, table: Table) -> None:
    rows = [r for r in table.rows if len(r) > table.time_column]
    if rows:
        draw(st.sampled_from(rows))[table.time_column] = draw(ODD_TIMESTAMPS)


def mixed_column(draw: Callable, table: Table) -> None:
    col = draw(st.integers(0, 3))
    for row in table.rows:
        if len(row) > col and draw(st.booleans()):
            row[col] = draw(st.one_of(ODD_CELLS, st.integers().map(str)))


def empty_column(draw: Callable, table: Table) -> None:
    col = draw(st.integers(0, 3))
    for row in table.rows:
        if len(row) > col:
            row[col] = ""
    if table.header and draw(st.booleans()) and len(table.header) > col:
        table.header[col] = ""


def duplicate_header(draw: Callable, table: Table) -> None:
    if table.header:
        i, j = draw(st.integers(0, 3)), draw(st.integers(0, 3))
        table.header[j % len(table.header)] = table.header[i % len(table.header)]


def rename_header(draw: Callable, table: Table) -> None:
    if table.header:
        table.header[draw(st.integers(0, len(table.header) - 1))] = draw(ODD_CELLS)


def drop_header(draw: Callable, table: Table) -> None:
    table.header = None


def ragged_row(draw: Callable, table: Table) -> None:
    if (spot := _cell(draw, table)) is not None:
        row, _ = spot
        if draw(st.booleans()):
            row.append(draw(ODD_CELLS))
        else:
            row.pop()


def quoted_newline(draw: Callable, table: Table) -> None:
    if (spot := _cell(draw, table)) is not None:
        row, col = spot
        row[col] = f'"{row[col]}\n{draw(st.sampled_from(["", "1", "x", ","]))}"'


def only_header(draw: Callable, table: Table) -> None:
    table.rows = []


def blank_lines(draw: Callable, table: Table) -> None:
    at = draw(st.integers(0, len(table.rows)))
    table.rows[at:at] = [[draw(st.sampled_from(["", " ", "\t", ",,,"]))]]


def reorder_rows(draw: Callable, table: Table) -> None:
    if table.rows:
        i, j = (draw(st.integers(0, len(table.rows) - 1)) for _ in range(2))
        if draw(st.booleans()):
            table.rows[i], table.rows[j] = table.rows[j], table.rows[i]
        else:
            table.rows.insert(j, list(table.rows[i]))


def drop_rows(draw: Callable, table: Table) -> None:
    table.rows = table.rows[: draw(st.integers(0, len(table.rows)))]


def drop_column(draw: Callable, table: Table) -> None:
    col = draw(st.integers(0, 3))
    for line in [table.header or [], *table.rows]:
        if len(line) > col:
            del line[col]


def long_line(draw: Callable, table: Table) -> None:
    if (spot := _cell(draw, table)) is not None:
        row, col = spot
        row[col] = draw(st.sampled_from(["x", "1", "1,"])) * 200_000


MUTATIONS = [
    odd_cell, odd_timestamp, mixed_column, empty_column, duplicate_header, rename_header,
    drop_header, ragged_row, quoted_newline, only_header, blank_lines, reorder_rows,
    drop_rows, drop_column, long_line,
]  # fmt: skip
ENCODINGS = ["utf-8", "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "latin-1", "cp1252"]


@st.composite
def csv_bytes(draw: Callable, base: pd.DataFrame, time_column: str, max_mutations: int = 3):
    """``base`` written as a CSV, with up to ``max_mutations`` mutations of its table and
    its bytes (no mutation: the good CSV, so valid results are fuzzed too)."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.one_of(st.binary(max_size=2000), st.sampled_from([b"", b" \n\t\n"])))
    table = table_of(base, time_column)
    for mutation in draw(st.lists(st.sampled_from(MUTATIONS), max_size=max_mutations)):
        mutation(draw, table)
    delimiter = draw(st.sampled_from([",", ",", ",", ";", "\t", "|"]))
    newline = draw(st.sampled_from(["\n", "\n", "\r\n", "\r"]))
    lines = ([table.header] if table.header is not None else []) + table.rows
    text = "".join(delimiter.join(line) + newline for line in lines)
    data = text.encode(draw(st.sampled_from(ENCODINGS)), errors="replace")
    if draw(st.integers(0, 4)) == 0:  # damage the bytes: NULs, garbage, truncation
        at = draw(st.integers(0, len(data)))
        junk = draw(st.one_of(st.just(b"\x00"), st.binary(min_size=1, max_size=8)))
        data = data[:at] + junk + data[at:] if draw(st.booleans()) else data[:at]
    return data


# --- checks ------------------------------------------------------------------------------


class Hung(BaseException):
    """A case ran past HANG_SECONDS (a BaseException, so no `except` in the code under
    test can take it for a user error)."""


@contextlib.contextmanager
def hang_guard(seconds: int = HANG_SECONDS) -> Iterator[None]:
    """Raise :class:`Hung` in the block after ``seconds`` (where there is SIGALRM)."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def alarm(signum: int, frame: object) -> None:
        raise Hung(f"no result after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def read_or_error(read: Callable[[], pd.DataFrame]) -> pd.DataFrame | None:
    """The frame ``read()`` gives, checked, or ``None`` for a one-line DataError."""
    try:
        with hang_guard():
            frame = read()
    except DataError as err:
        message = str(err)
        assert message and len(message.splitlines()) == 1 and "\r" not in message, message
        return None
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert frame.index.is_monotonic_increasing and frame.index.is_unique
    assert len(frame) >= 1 and frame.shape[1] >= 1
    assert (frame.dtypes == np.float64).all()
    assert np.isfinite(frame.to_numpy()).all()
    return frame


def write(folder: Path, data: bytes, name: str = "input.csv") -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


# --- readers -----------------------------------------------------------------------------


@FUZZ
@given(
    data=csv_bytes(WIDE, "date"),
    nan_policy=st.sampled_from(NAN_POLICIES),
    series=st.sampled_from([None, ["s2", "s0"]]),
    date_column=st.sampled_from([None, "date", "s1"]),
    last=st.integers(1, 10),
)
def test_wide_reader_gives_a_frame_or_a_one_line_error(
    tmp_path_factory, fuzz_cases, data, nan_policy, series, date_column, last
) -> None:
    fuzz_cases["test_wide_reader_gives_a_frame_or_a_one_line_error"] += 1
    path = write(tmp_path_factory.mktemp("wide"), data)
    full = read_or_error(lambda: read_wide_csv(path, date_column, nan_policy, series))
    # The same file read from its end only (any size counts as large here).
    with mock.patch.object(reading, "TAIL_MIN_BYTES", 0):
        tail = read_or_error(
            lambda: read_wide_csv(path, date_column, nan_policy, series, last=last)
        )
    if full is not None:
        # every row is valid, so the last ones are too, and read alone they are the same
        assert tail is not None and len(tail) >= min(last, len(full))
        pd.testing.assert_frame_equal(tail, full.iloc[len(full) - len(tail) :])


@FUZZ
@given(
    data=csv_bytes(LONG, "ds"),
    nan_policy=st.sampled_from(NAN_POLICIES),
    series=st.sampled_from([None, ["s2", "s0"]]),
)
def test_long_reader_gives_a_frame_or_a_one_line_error(
    tmp_path_factory, fuzz_cases, data, nan_policy, series
) -> None:
    fuzz_cases["test_long_reader_gives_a_frame_or_a_one_line_error"] += 1
    path = write(tmp_path_factory.mktemp("long"), data)
    read_or_error(lambda: read_long_csv(path, nan_policy, series))


# --- the forecast command ----------------------------------------------------------------


def run_main(argv: list[str]) -> tuple[int, str]:
    """The exit status of the command run in this process, and what it wrote to stderr."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            with hang_guard():
                code = main(argv)
        except SystemExit as exit:
            code = exit.code
    return code, err.getvalue()


def check_output(out: Path, horizon: int, long: bool) -> None:
    if long:
        table = pd.read_csv(out)
        assert list(table.columns) == ["unique_id", "ds", "y"]
        assert len(table) == horizon * len(SERIES)
        assert sorted(set(table["unique_id"])) == SERIES
        values = table["y"].to_numpy()
    else:
        table = pd.read_csv(out, index_col=0)
        assert list(table.columns) == SERIES and len(table) == horizon
        assert pd.to_datetime(table.index, format="mixed").is_monotonic_increasing
        values = table.to_numpy()
    assert values.dtype == np.float64 and np.isfinite(values).all()


def check_stderr(stderr: str, code: int, source: Path) -> None:
    """Exit status 2 ends in one line ``error: …``; warnings before it, and on success,
    are one line each and name the input."""
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    if code == 2:
        assert lines and lines[-1].startswith("error: "), stderr
        lines = lines[:-1]
    else:
        assert code == 0, stderr
        lines = [line for line in lines if not line.startswith("wrote ")]
    assert all(line.startswith(f"warning: {source}: ") for line in lines), stderr


@CLI_FUZZ
@given(
    long=st.booleans(),
    data=st.data(),
    horizon=st.sampled_from([None, 1, 5, OUT_LEN]),
    nan_policy=st.sampled_from(NAN_POLICIES),
    tail=st.booleans(),
)
def test_forecast_command_gives_a_forecast_or_one_error_line(
    synthetic_run, tmp_path_factory, fuzz_cases, long, data, horizon, nan_policy, tail
) -> None:
    fuzz_cases["test_forecast_command_gives_a_forecast_or_one_error_line"] += 1
    history = csv_bytes(LONG_60, "ds") if long else csv_bytes(WIDE_60, "date")
    folder = tmp_path_factory.mktemp("cli")
    source = write(folder, data.draw(history))
    out = folder / "out.csv"
    argv = [str(synthetic_run.ckpt), str(source), "-o", str(out), "--nan-policy", nan_policy]
    argv += ["--format", "long"] if long else []
    argv += ["--horizon", str(horizon)] if horizon else []
    # tail: the file counts as large, so a wide one is read from its end
    large = mock.patch.object(reading, "TAIL_MIN_BYTES", 0) if tail else contextlib.nullcontext()
    with large:
        code, stderr = run_main(argv)
    check_stderr(stderr, code, source)
    if code == 0:
        check_output(out, horizon or OUT_LEN, long)
    else:
        assert not out.exists()


# A few of the fuzzed kinds of input, each run as a real process: `python forecast.py`.
REAL_CASES = {
    "random-bytes": bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8)),
    "overflow": HOURLY.assign(s1=1e308).to_csv().encode(),
}


def test_real_processes_exit_2_with_one_error_line(synthetic_run, tmp_path, fuzz_cases):
    env = {**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    processes = {}
    for name, data in REAL_CASES.items():  # started together: each spends seconds importing
        path = write(tmp_path, data, f"{name}.csv")
        command = [sys.executable, str(ROOT / "forecast.py"), str(synthetic_run.ckpt), str(path)]
        processes[name] = subprocess.Popen(
            [*command, "-o", "-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
    for name, process in processes.items():
        stdout, stderr = process.communicate(timeout=300)
        fuzz_cases["test_real_processes_exit_2_with_one_error_line"] += 1
        lines = stderr.decode().splitlines()
        assert process.returncode == 2, (name, stderr)
        assert len(lines) == 1 and lines[0].startswith("error: "), (name, stderr)
        assert stdout == b"", name


@pytest.mark.parametrize("reader", [read_wide_csv, read_long_csv])
@FUZZ
@given(data=st.binary(max_size=4000))
def test_readers_on_random_bytes(tmp_path_factory, fuzz_cases, reader, data) -> None:
    fuzz_cases[f"test_readers_on_random_bytes[{reader.__name__}]"] += 1
    read_or_error(lambda: reader(write(tmp_path_factory.mktemp("bytes"), data)))
