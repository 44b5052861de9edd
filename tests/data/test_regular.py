"""Training's check of the time index: irregular steps refused, warned about, or
resampled (with the rows filled by interpolation in time, checked by hand)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stanhop.data import DataError, DataWarning, from_csv, make_synthetic
from stanhop.data.regular import regularize


def hourly(stamps: list[str], values: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"a": values}, index=pd.DatetimeIndex(stamps, name="date"))


# A spring daylight-saving jump in local time: 02:00 does not exist.
DST = ["2021-03-28 00:00", "2021-03-28 01:00", "2021-03-28 03:00", "2021-03-28 04:00"]


def test_an_irregular_index_is_an_error_naming_the_step() -> None:
    frame = hourly(DST, [1.0, 2.0, 4.0, 5.0])
    with pytest.raises(DataError) as info:
        regularize(frame, "x.csv", "error")
    assert str(info.value) == (
        "x.csv: the timestamps are irregular: the step from 2021-03-28 01:00:00 to "
        "2021-03-28 03:00:00 is 2 hours, elsewhere 1 hour, so training windows would span "
        "the gaps; resample the data to one step (data.irregular=resample fills missing "
        "steps by time interpolation), or train on it as it is with data.irregular=warn"
    )


def test_warn_keeps_the_frame_and_counts_the_odd_steps() -> None:
    stamps = [*DST, "2021-03-28 05:00", "2021-03-28 08:00"]
    frame = hourly(stamps, [1.0, 2.0, 4.0, 5.0, 6.0, 9.0])
    with pytest.warns(DataWarning, match=r"is 2 hours, elsewhere 1 hour \(and 1 more odd"):
        kept, note = regularize(frame, "x.csv", "warn")
    assert kept is frame and note == ""


def test_resample_fills_the_gaps_linearly_in_time() -> None:
    # 02:00 and 05:00-06:00 are missing; a straight line is filled exactly
    stamps = ["2021-03-28 00:00", "2021-03-28 01:00", "2021-03-28 03:00", "2021-03-28 04:00"]
    stamps += ["2021-03-28 07:00", "2021-03-28 08:00"]
    frame = hourly(stamps, [0.0, 10.0, 30.0, 40.0, 70.0, 80.0])
    filled, note = regularize(frame, "x.csv", "resample")
    assert list(filled.index) == list(pd.date_range("2021-03-28", periods=9, freq="h"))
    np.testing.assert_array_equal(filled["a"].to_numpy(), np.arange(9) * 10.0)
    assert note == (
        "x.csv: resampled to one row every 1 hour (data.irregular=resample): 3 missing rows "
        "filled by linear interpolation in time"
    )


def test_resample_averages_rows_off_the_grid() -> None:
    stamps = ["2021-01-01 00:00", "2021-01-01 01:00", "2021-01-01 01:30", "2021-01-01 02:00"]
    stamps += ["2021-01-01 03:00", "2021-01-01 04:00"]
    frame = hourly(stamps, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    filled, note = regularize(frame, "x.csv", "resample")
    # 01:30 joins 01:00 in the step from 01:00: their mean
    np.testing.assert_array_equal(filled["a"].to_numpy(), [0.0, 1.5, 3.0, 4.0, 5.0])
    assert note.endswith(
        "0 missing rows filled by linear interpolation in time, 1 rows off that grid "
        "averaged into the step they fall in"
    )


def test_a_regular_index_is_kept_as_it_is() -> None:
    frame = make_synthetic(n_series=2, n_steps=50)
    for policy in ("error", "warn", "resample"):
        kept, note = regularize(frame, "x", policy)
        assert kept is frame and note == ""


def test_an_unknown_policy_is_named() -> None:
    with pytest.raises(DataError, match="unknown irregular policy 'fill'; use one of error, "):
        from_csv("x.csv", 4, 2, irregular="fill")


def test_the_datamodule_resamples_a_file_with_missing_rows(tmp_path) -> None:
    frame = make_synthetic(n_series=2, n_steps=200, seed=3)
    path = tmp_path / "gappy.csv"
    frame.drop(frame.index[[50, 51, 120]]).to_csv(path)
    before = path.read_bytes()
    with pytest.raises(DataError, match=r"the step from .* is 3 hours, elsewhere 1 hour"):
        from_csv(path, 24, 12).setup()
    module = from_csv(path, 24, 12, irregular="resample")
    module.setup()
    assert module.freq == "h" and len(module.index) == 200
    assert "3 missing rows filled" in module.resampled
    assert path.read_bytes() == before
