"""Cells filled by the NaN policy in the window a forecast reads: counted per series, a
warning past half the window (an error under --strict), never silent."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from stanhop.cli.forecast import main
from stanhop.data import DataNote, DataWarning
from stanhop.forecast import Forecaster
from stanhop.forecast.filled import window_fill_counts


def test_only_the_rows_of_the_window_are_counted() -> None:
    filled = {"a": (0, 1, 7, 8, 9), "b": (2,), "c": (9,)}
    assert window_fill_counts(filled, n_rows=10, window=3) == {"a": 3, "c": 1}


def gappy(synthetic_run, tmp_path, n_missing: int):
    """The history with the last ``n_missing`` rows of s1, but its last, left empty."""
    frame = synthetic_run.frame.copy()
    frame.iloc[-n_missing - 1 : -1, 1] = np.nan
    path = tmp_path / "gappy.csv"
    frame.to_csv(path)
    return path


@pytest.mark.parametrize("policy", ["ffill", "interpolate"])
def test_a_few_filled_cells_are_counted_in_a_note(synthetic_run, tmp_path, policy) -> None:
    forecaster = Forecaster.load(synthetic_run.ckpt)
    path = gappy(synthetic_run, tmp_path, 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        forecaster.predict(path, nan_policy=policy)
    [note] = [w for w in caught if issubclass(w.category, DataNote)]
    assert f"nan_policy={policy} filled cells in the last {forecaster.in_len} rows" in str(
        note.message
    )
    assert f"'s1' 3 of {forecaster.in_len}" in str(note.message)
    assert not [w for w in caught if issubclass(w.category, DataWarning)]


def test_a_series_filled_over_most_of_the_window_is_warned_about(synthetic_run, tmp_path):
    forecaster = Forecaster.load(synthetic_run.ckpt)
    n = forecaster.in_len - 1
    path = gappy(synthetic_run, tmp_path, n)
    with pytest.warns(DataWarning, match=rf"'s1' {n} of {n + 1}; more than 50% of the window"):
        forecaster.predict(path, nan_policy="ffill")


def test_strict_stops_on_a_mostly_filled_window_but_not_on_a_few_cells(
    synthetic_run, tmp_path, capsys
) -> None:
    in_len = Forecaster.load(synthetic_run.ckpt).in_len
    args = ["--nan-policy", "ffill", "--strict", "-o", str(tmp_path / "out.csv")]
    few = gappy(synthetic_run, tmp_path, 2)
    assert main([str(synthetic_run.ckpt), str(few), *args]) == 0
    assert f"warning: {few}: nan_policy=ffill filled" in capsys.readouterr().err
    most = gappy(synthetic_run, tmp_path, in_len // 2 + 1)
    assert main([str(synthetic_run.ckpt), str(most), *args, "--force"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {most}: nan_policy=ffill filled") and "\n" not in err
