"""Messages of the Python API that say the right thing: a run folder where a checkpoint is
wanted, and interval levels given as a number or a text."""

from __future__ import annotations

import pandas as pd
import pytest

from stanhop.cli.forecast import main
from stanhop.data import DataError
from stanhop.files.checkpoint import CheckpointError, load_checkpoint
from stanhop.forecast import Forecaster, ForecastError


def test_a_run_folder_loads_its_best_checkpoint(synthetic_run) -> None:
    run_folder = synthetic_run.ckpt.parents[1]
    from_folder = Forecaster.load(run_folder).predict(synthetic_run.csv)
    pd.testing.assert_frame_equal(
        from_folder, Forecaster.load(synthetic_run.ckpt).predict(synthetic_run.csv)
    )


def test_a_folder_without_a_checkpoint_names_where_one_would_be(tmp_path) -> None:
    with pytest.raises(CheckpointError, match=r"a folder without checkpoints/best\.ckpt"):
        Forecaster.load(tmp_path)
    with pytest.raises(CheckpointError, match=r"e\.g\. .*/checkpoints/best\.ckpt in a run folder"):
        load_checkpoint(tmp_path)


@pytest.mark.parametrize("levels", [80, 80.0, "80", "80,95", (80, 95), [95, 80]])
def test_interval_levels_as_a_number_a_text_or_a_list(synthetic_run, levels) -> None:
    forecaster = Forecaster.load(synthetic_run.ckpt)
    forecast = forecaster.predict(synthetic_run.csv, intervals=levels)
    expected = forecaster.predict(synthetic_run.csv, intervals=(80, 95))
    shown = [c for c in expected.columns if "95" not in c or "95" in str(levels)]
    pd.testing.assert_frame_equal(forecast, expected[shown])


@pytest.mark.parametrize("levels", ["eighty", 150, {80: 1}, [80, "x"]])
def test_interval_levels_that_are_no_percentages_are_a_forecast_error(synthetic_run, levels):
    with pytest.raises(ForecastError, match="percent"):
        Forecaster.load(synthetic_run.ckpt).predict(synthetic_run.csv, intervals=levels)


def test_a_history_row_with_a_field_too_many_is_refused_by_the_api_and_the_command(
    synthetic_run, tmp_path, capsys
) -> None:
    # an unquoted decimal comma in the window: its row's values would move one column over
    lines = synthetic_run.csv.read_text().splitlines()
    lines[-5] = lines[-5].replace(".", ",", 1)
    path = tmp_path / "long_row.csv"
    path.write_text("\n".join(lines) + "\n")
    expected = f"Expected 4 fields in line {len(lines) - 4}, saw 5"
    with pytest.raises(DataError, match=expected):
        Forecaster.load(synthetic_run.ckpt).predict(path)
    assert main([str(synthetic_run.ckpt), str(path), "-o", str(tmp_path / "out.csv")]) == 2
    assert expected in capsys.readouterr().err
