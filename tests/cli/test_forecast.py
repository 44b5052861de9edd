"""The forecast command: outputs equal to Forecaster.predict, safe file handling, and every
user error as one line `error: …` with exit status 2 and no traceback."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stanhop import Forecaster
from stanhop.cli.forecast import main
from stanhop.data import DataError, reading, to_long
from stanhop.forecast.forecaster import CALIBRATION_WINDOWS

ROOT = Path(__file__).resolve().parents[2]
IN_LEN, OUT_LEN = 48, 12


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """``python forecast.py ARGS`` in a fresh process."""
    return subprocess.run(
        [sys.executable, str(ROOT / "forecast.py"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"},
    )


def read_output(path: Path | str) -> pd.DataFrame:
    return pd.read_csv(path, index_col=0, parse_dates=True)


@pytest.fixture
def history(synthetic_run, tmp_path) -> Path:
    """A private copy of the synthetic CSV, so outputs land in this test's folder."""
    path = tmp_path / "history.csv"
    path.write_bytes(synthetic_run.csv.read_bytes())
    return path


# --- outputs ---------------------------------------------------------------------------


def test_cli_output_equals_predict_on_etth1(etth1_run, tmp_path) -> None:
    out = tmp_path / "forecast.csv"
    result = run_cli(etth1_run.ckpt, etth1_run.csv, "-o", out)
    assert result.returncode == 0, result.stderr
    expected = Forecaster.load(etth1_run.ckpt).predict(etth1_run.csv)
    pd.testing.assert_frame_equal(read_output(out), expected, check_freq=False, rtol=1e-6)


def test_default_output_is_next_to_the_input(synthetic_run, history, capsys) -> None:
    assert main([str(synthetic_run.ckpt), str(history)]) == 0
    out = history.with_name("history.forecast.csv")
    expected = Forecaster.load(synthetic_run.ckpt).predict(history)
    pd.testing.assert_frame_equal(read_output(out), expected, check_freq=False)
    assert f"wrote {out}: {OUT_LEN} steps of 3 series" in capsys.readouterr().err
    assert [p.name for p in history.parent.iterdir() if p.name.startswith(".")] == []


def test_dash_writes_the_csv_to_stdout(synthetic_run, history, capsys) -> None:
    assert main([str(synthetic_run.ckpt), str(history), "-o", "-", "--horizon", "4"]) == 0
    captured = capsys.readouterr()
    table = pd.read_csv(pd.io.common.StringIO(captured.out), index_col=0, parse_dates=True)
    expected = Forecaster.load(synthetic_run.ckpt).predict(history, horizon=4)
    pd.testing.assert_frame_equal(table, expected, check_freq=False)
    assert not history.with_name("history.forecast.csv").exists()


def test_long_input_gives_long_output(synthetic_run, tmp_path, capsys) -> None:
    long = tmp_path / "long.csv"
    to_long(synthetic_run.frame).to_csv(long, index=False)
    out = tmp_path / "out.csv"
    assert main([str(synthetic_run.ckpt), str(long), "--format", "long", "-o", str(out)]) == 0
    table = pd.read_csv(out, parse_dates=["ds"])
    assert list(table.columns) == ["unique_id", "ds", "y"]
    wide = table.pivot(index="ds", columns="unique_id", values="y").rename_axis(columns=None)
    expected = Forecaster.load(synthetic_run.ckpt).predict(synthetic_run.csv)
    pd.testing.assert_frame_equal(wide, expected.rename_axis("ds"), check_freq=False)


def test_existing_output_is_kept_without_force(synthetic_run, history, capsys) -> None:
    out = history.with_name("out.csv")
    out.write_text("precious\n")
    assert main([str(synthetic_run.ckpt), str(history), "-o", str(out)]) == 2
    assert out.read_text() == "precious\n"
    assert "--force" in capsys.readouterr().err
    assert main([str(synthetic_run.ckpt), str(history), "-o", str(out), "--force"]) == 0
    assert read_output(out).shape == (OUT_LEN, 3)


def test_a_failed_forecast_leaves_an_existing_output_alone(synthetic_run, tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("date,s0,s1,s2\n2020-01-01,1,2,3\n")
    out = tmp_path / "out.csv"
    out.write_text("precious\n")
    assert main([str(synthetic_run.ckpt), str(bad), "-o", str(out), "--force"]) == 2
    assert out.read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "out.csv"]


@pytest.mark.parametrize("target", ["input", "checkpoint"])
def test_inputs_are_never_overwritten(synthetic_run, history, capsys, target) -> None:
    path = history if target == "input" else synthetic_run.ckpt
    before = path.read_bytes()
    code = main([str(synthetic_run.ckpt), str(history), "-o", str(path), "--force"])
    assert code == 2 and path.read_bytes() == before
    assert "never overwritten" in capsys.readouterr().err


def test_plot_is_written(synthetic_run, history, capsys) -> None:
    plot = history.with_name("forecast.png")
    assert main([str(synthetic_run.ckpt), str(history), "-o", "-", "--plot", str(plot)]) == 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "3 of 3 series shown" in capsys.readouterr().err


def test_extra_columns_give_one_warning_line(synthetic_run, tmp_path, capsys) -> None:
    path = tmp_path / "extra.csv"
    synthetic_run.frame.assign(comment="x").to_csv(path)
    assert main([str(synthetic_run.ckpt), str(path), "-o", "-"]) == 0
    warnings = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1 and "'comment'" in warnings[0]


def test_console_script_points_at_main() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    # [project.scripts] (tomllib would need Python 3.11; the package supports 3.10)
    module, name = re.search(r'^stanhop-forecast = "([\w.]+):(\w+)"$', text, re.M).groups()
    assert getattr(importlib.import_module(module), name) is main


# --- errors ----------------------------------------------------------------------------


def write_text(text: str):
    return lambda frame, path: path.write_text(text)


def write_frame(edit):
    return lambda frame, path: edit(frame.copy()).to_csv(path)


def with_cell(row: int, col: int, value):
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.astype(object)
        frame.iat[row, col] = value
        return frame

    return edit


def drop_row(row: int):
    return lambda frame: frame.drop(frame.index[row])


def exit_status(argv: list[str]) -> int | str | None:
    """main's status, whether it returns it or (for argparse errors) exits with it."""
    try:
        return main(argv)
    except SystemExit as exit:
        return exit.code


# case id -> (writes INPUT, extra options, text the error line must hold)
INPUT_ERRORS = {
    "missing-file": (None, [], "file not found"),
    "empty-file": (write_text(""), [], "the file is empty"),
    "header-only": (write_text("date,s0,s1,s2\n"), [], "no data rows"),
    "not-a-csv": (
        lambda frame, path: path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 50),
        [],
        "not a CSV of UTF-8 text",
    ),
    "too-few-rows": (write_frame(lambda f: f.iloc[:10]), [], f"at least {IN_LEN} rows"),
    "nan": (write_frame(with_cell(-1, 1, np.nan)), [], "column 's1' (1)"),
    "non-numeric": (write_frame(with_cell(3, 2, "abc")), [], "'abc' in column 's2' at line 5"),
    "bad-timestamp": (
        write_text("date,s0,s1,s2\n2020-01-01,1,2,3\nsoon,1,2,3\n"),
        [],
        "unparsable timestamp 'soon'",
    ),
    "duplicate-timestamp": (
        write_text("date,s0,s1,s2\n2020-01-01,1,2,3\n2020-01-01,1,2,3\n"),
        [],
        "duplicate timestamp '2020-01-01' at line 3",
    ),
    "irregular": (write_frame(drop_row(-5)), [], "timestamps are irregular"),
    "missing-series": (write_frame(lambda f: f.drop(columns="s1")), [], "'s1'"),
    "unknown-date-column": (write_frame(lambda f: f), ["--date-column", "when"], "'when'"),
    "long-without-its-columns": (write_frame(lambda f: f), ["--format", "long"], "unique_id"),
    "bad-nan-policy": (write_frame(lambda f: f), ["--nan-policy", "zero"], "invalid choice"),
    "bad-plot-name": (write_frame(lambda f: f), ["--plot", "p.xyz"], "image format"),
    # found by tests/fuzz: pandas' own warning was a second stderr line
    "numbers-as-timestamps": (
        write_text("date,s0,s1,s2\n" + "".join(f"{i},1,2,3\n" for i in range(60))),
        [],
        "unparsable timestamp '0'",
    ),
    # found by tests/fuzz: a forecast of NaNs was written without a word
    "overflow": (
        write_frame(lambda f: f.assign(s1=1e308)),
        [],
        "series 's1' holds 1e+308",
    ),
}


@pytest.mark.parametrize("case", list(INPUT_ERRORS))
def test_input_errors_are_one_line_with_status_2(synthetic_run, tmp_path, capsys, case) -> None:
    make, options, expected = INPUT_ERRORS[case]
    path = tmp_path / "input.csv"
    if make is not None:
        make(synthetic_run.frame, path)
    assert exit_status([str(synthetic_run.ckpt), str(path), "-o", "-", *options]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and expected in err[0], err
    assert "Traceback" not in err[0]


CHECKPOINT_ERRORS = {
    "missing": (None, "checkpoint not found"),
    "truncated": (lambda data: data[:1000], "truncated or corrupt"),
    "not-a-checkpoint": (lambda data: b"date,a\n2020-01-01,1\n", "not a PyTorch checkpoint"),
}


@pytest.mark.parametrize("case", list(CHECKPOINT_ERRORS))
def test_checkpoint_errors_are_one_line_with_status_2(synthetic_run, tmp_path, capsys, case):
    make, expected = CHECKPOINT_ERRORS[case]
    ckpt = tmp_path / "model.ckpt"
    if make is not None:
        ckpt.write_bytes(make(synthetic_run.ckpt.read_bytes()))
    assert main([str(ckpt), str(synthetic_run.csv), "-o", "-"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and expected in err[0]


def test_debug_shows_the_exception(synthetic_run, tmp_path) -> None:
    with pytest.raises(DataError, match="file not found"):
        main([str(synthetic_run.ckpt), str(tmp_path / "absent.csv"), "-o", "-", "--debug"])


def test_a_real_process_prints_one_line_and_exits_2(synthetic_run, tmp_path) -> None:
    result = run_cli(tmp_path / "absent.ckpt", synthetic_run.csv)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'absent.ckpt'}: checkpoint not found; give the .ckpt file a "
        "training run wrote, e.g. outputs/DATE/TIME/checkpoints/best.ckpt"
    ]
    assert result.stdout == ""


def test_a_real_process_with_debug_shows_the_traceback(synthetic_run, tmp_path) -> None:
    result = run_cli(tmp_path / "absent.ckpt", synthetic_run.csv, "--debug")
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "CheckpointError" in result.stderr


def test_errors_and_warnings_after_reading_name_the_input(synthetic_run, tmp_path, capsys):
    # found by tests/fuzz: they named "DataFrame", the history once read from the file
    path = tmp_path / "two-hourly.csv"
    synthetic_run.frame.set_axis(
        pd.date_range("2024-01-01", periods=len(synthetic_run.frame), freq="2h", name="date")
    ).to_csv(path)
    assert main([str(synthetic_run.ckpt), str(path), "-o", "-"]) == 0
    assert f"warning: {path}: the timestamps step at frequency '2h'" in capsys.readouterr().err
    drop_row(-5)(synthetic_run.frame).to_csv(path)
    assert main([str(synthetic_run.ckpt), str(path), "-o", "-"]) == 2
    assert capsys.readouterr().err.startswith(f"error: {path}: the timestamps are irregular")


# --- large inputs: only the last rows are read -------------------------------------------


def test_a_large_file_is_read_from_its_end_only(synthetic_run, tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "TAIL_MIN_BYTES", 0)  # every file counts as large
    path = tmp_path / "history.csv"
    # a bad cell far above the rows a forecast uses is not read, so not an error
    with_cell(5, 1, "oops")(synthetic_run.frame).to_csv(path)
    forecaster = Forecaster.load(synthetic_run.ckpt)
    assert len(forecaster.read_history(path)) == IN_LEN + CALIBRATION_WINDOWS - 1
    expected = forecaster.predict(synthetic_run.frame)
    pd.testing.assert_frame_equal(forecaster.predict(path), expected, check_freq=False)
    assert main([str(synthetic_run.ckpt), str(path), "-o", "-", "--quantize", "w8a8"]) == 0


def fast_wide_csv(n_rows: int, n_series: int) -> tuple[bytes, np.ndarray]:
    """The header and the lines (n_rows, width) uint8 of an hourly wide CSV, made at numpy
    speed: lines of fixed width, a timestamp then one value d.dddddd in [2, 8] per series."""
    start = np.datetime64("1900-01-01T00:00:00")
    stamps = np.datetime_as_string(start + np.arange(n_rows).astype("timedelta64[h]"))
    stamps = stamps.astype("S19").view(np.uint8).reshape(n_rows, 19)
    phase = 2 * np.pi * np.arange(n_rows)[:, None] / 24 + np.arange(n_series)
    micros = np.round((5 + 3 * np.sin(phase)) * 1e6).astype(np.int32)  # (n_rows, n_series)
    cells = np.empty((n_rows, n_series, 9), np.uint8)  # ",d.dddddd"
    cells[..., 0], cells[..., 2] = ord(","), ord(".")
    for position, power in zip([1, 3, 4, 5, 6, 7, 8], range(6, -1, -1), strict=True):
        cells[..., position] = micros // 10**power % 10 + ord("0")
    newline = np.full((n_rows, 1), ord("\n"), np.uint8)
    lines = np.concatenate([stamps, cells.reshape(n_rows, -1), newline], axis=1)
    header = ",".join(["date", *(f"s{i}" for i in range(n_series))]) + "\n"
    return header.encode(), lines


# Prints the peak resident memory (MiB) of the process: VmHWM, not getrusage's ru_maxrss,
# which Linux carries over from the parent of a forked process (here pytest, hundreds of MB).
PEAK_RSS = """
import re, sys
from pathlib import Path
from stanhop import Forecaster
from stanhop.data import read_wide_csv
forecaster = Forecaster.load(sys.argv[1])
if sys.argv[3] == "forecast":
    forecaster.predict(sys.argv[2])
elif sys.argv[3] == "full-read":
    read_wide_csv(sys.argv[2], series=forecaster.series_names)
status = Path("/proc/self/status").read_text()
print(int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) // 1024)
"""


@pytest.mark.slow  # writes an 80 MB CSV and runs three Python processes, ~30 s
@pytest.mark.slow  # writes and forecasts from a CSV of a million rows
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's /proc")
@pytest.mark.filterwarnings("ignore:.*ignoring 4 column")  # the model has 3 of the 7 series
def test_a_million_rows_forecast_in_bounded_memory(synthetic_run, tmp_path) -> None:
    header, lines = fast_wide_csv(1_000_000, 7)
    big, small = tmp_path / "big.csv", tmp_path / "small.csv"
    big.write_bytes(header + lines.tobytes())
    small.write_bytes(header + lines[-600:].tobytes())
    forecaster = Forecaster.load(synthetic_run.ckpt)
    pd.testing.assert_frame_equal(forecaster.predict(big), forecaster.predict(small))

    # Peak memory (MiB) of a process that loads the model and then does nothing more, or
    # forecasts from the big file, or reads all of it.
    processes = {
        mode: subprocess.Popen(
            [sys.executable, "-c", PEAK_RSS, str(synthetic_run.ckpt), str(big), mode],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for mode in ["load-only", "forecast", "full-read"]
    }
    peak = {mode: int(p.communicate(timeout=300)[0]) for mode, p in processes.items()}
    print(f"peak RSS (MiB) for an {big.stat().st_size >> 20} MiB CSV: {peak}")
    assert peak["forecast"] < 1536 and peak["forecast"] < peak["full-read"]
    assert peak["forecast"] - peak["load-only"] < (peak["full-read"] - peak["load-only"]) / 4


def test_precision_flag_reaches_the_forecast(synthetic_run, history, capsys) -> None:
    assert main([str(synthetic_run.ckpt), str(history), "-o", "-", "--precision", "bf16"]) == 0
    table = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out), index_col=0)
    expected = Forecaster.load(synthetic_run.ckpt, precision="bf16").predict(history)
    np.testing.assert_array_equal(table.to_numpy(), expected.to_numpy())
