"""Future values and time zones at forecast time: a ``--future`` file is read whatever
the place of its timestamp column, a misnamed column or a zone on one side only is one
line saying what to change, a model without future covariates refuses a future file, and
a calendar model's features are built in the time zone it was trained in."""

from __future__ import annotations

import pandas as pd
import pytest

from stanhop.cli.forecast import main
from stanhop.data import DataError, make_synthetic
from stanhop.forecast import Forecaster, ForecastError
from stanhop.forecast.backtest import backtest
from stanhop.training.train import train

OUT_LEN = 12
FAST = ("debug=fast", "logger=none", "callbacks.outliers=null", "callbacks.quantization=null")
KNOWN = ("data.targets=[s2,s0]", "data.calendar=[hour,dayofweek]", "data.future=[s1]")


@pytest.fixture(scope="module")
def utc_run(tmp_path_factory, composer) -> tuple[pd.DataFrame, Forecaster]:
    """A calendar and future-covariate model trained on timestamps in UTC."""
    root = tmp_path_factory.mktemp("utc")
    frame = make_synthetic(n_series=3, n_steps=24 * 30, seed=4)
    frame.index = frame.index.tz_localize("UTC")
    frame.to_csv(root / "series.csv")
    overrides = [*FAST, "data=csv", f"data.path={root / 'series.csv'}", *KNOWN]
    train(composer(root / "run", root / "data", *overrides))
    return frame, Forecaster.load(root / "run" / "checkpoints" / "best.ckpt")


def test_the_checkpoint_keeps_the_training_time_zone(utc_run) -> None:
    assert utc_run[1].timezone == "UTC"


def test_a_history_in_another_zone_gets_the_features_of_the_same_instants(utc_run) -> None:
    frame, forecaster = utc_run
    history, ahead = frame.iloc[:-OUT_LEN], frame.iloc[-OUT_LEN:][["s1"]]
    in_utc = forecaster.predict(history, future=ahead)
    berlin = history.tz_convert("Europe/Berlin")
    in_berlin = forecaster.predict(berlin, future=ahead.tz_convert("America/New_York"))
    assert str(in_berlin.index.tz) == "Europe/Berlin"
    pd.testing.assert_frame_equal(in_berlin.tz_convert("UTC"), in_utc, check_freq=False)
    start = frame.index[-5 * OUT_LEN]
    scores = [
        backtest(forecaster, forecaster.read_history(f), start=start).summary
        for f in (frame, frame.tz_convert("Asia/Tokyo"))
    ]
    pd.testing.assert_frame_equal(*scores)


def test_a_history_without_its_zone_is_one_line(utc_run) -> None:
    frame, forecaster = utc_run
    history, ahead = frame.iloc[:-OUT_LEN], frame.iloc[-OUT_LEN:][["s1"]]
    with pytest.raises(DataError) as err:
        forecaster.predict(history.tz_localize(None), future=ahead.tz_localize(None))
    assert str(err.value) == (
        "DataFrame: the timestamps have no time zone, but the model learnt its calendar "
        "features in UTC; give them with their UTC offset (e.g. df.index.tz_localize('UTC') "
        "if they are that zone's local time)"
    )


def test_future_values_without_the_historys_zone_are_one_line(utc_run) -> None:
    frame, forecaster = utc_run
    history, ahead = frame.iloc[:-OUT_LEN], frame.iloc[-OUT_LEN:][["s1"]]
    with pytest.raises(DataError) as err:
        forecaster.predict(history, future=ahead.tz_localize(None))
    assert str(err.value) == (
        "DataFrame: the history's timestamps are in UTC but the future values' carry no "
        "time zone; write both with a time zone (a UTC offset such as +01:00) or both without"
    )


@pytest.fixture
def files(utc_run, tmp_path) -> tuple[Forecaster, str, pd.DataFrame, pd.DataFrame]:
    """The model, its history as a file, the forecast from a well-formed future table,
    and that table (timestamps as the column ``date``)."""
    frame, forecaster = utc_run
    history = tmp_path / "history.csv"
    frame.iloc[:-OUT_LEN].to_csv(history)
    ahead = frame.iloc[-OUT_LEN:][["s1"]].reset_index()
    return forecaster, str(history), forecaster.predict(history, future=ahead), ahead


def test_the_future_files_date_column_may_stand_anywhere(files, tmp_path) -> None:
    forecaster, history, expected, ahead = files
    last = tmp_path / "date_last.csv"
    ahead[["s1", "date"]].rename(columns={"date": "when"}).to_csv(last, index=False)
    pd.testing.assert_frame_equal(forecaster.predict(history, future=last), expected)
    # the history's --date-column names the future file's too when it has that column
    ahead[["s1", "date"]].to_csv(last, index=False)
    pd.testing.assert_frame_equal(
        forecaster.predict(history, future=last, date_column="date"), expected
    )


def test_a_future_column_in_another_case_is_named(files, tmp_path, capsys) -> None:
    forecaster, history, _, ahead = files
    upper = tmp_path / "upper.csv"
    ahead.rename(columns={"s1": "S1"}).to_csv(upper, index=False)
    argv = [forecaster.name, history, "--future", str(upper), "-o", str(tmp_path / "out.csv")]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"error: {upper}: no column 's1', whose future values the model needs; the columns "
        "are 'date', 'S1'; names match with their case: rename 'S1' to 's1'\n"
    )


def test_a_future_file_for_a_model_without_future_covariates_is_refused(
    synthetic_run, tmp_path, capsys
) -> None:
    ahead = tmp_path / "ahead.csv"
    synthetic_run.frame.iloc[-OUT_LEN:].to_csv(ahead)
    forecaster = Forecaster.load(synthetic_run.ckpt)
    with pytest.raises(ForecastError, match="the model takes no future covariate values"):
        forecaster.predict(synthetic_run.csv, future=ahead)
    out = tmp_path / "out.csv"
    argv = [str(synthetic_run.ckpt), str(synthetic_run.csv), "--future", str(ahead), "-o"]
    assert main([*argv, str(out)]) == 2
    assert capsys.readouterr().err == (
        f"error: {ahead}: the model takes no future covariate values (it was trained without "
        "data.future); leave out future= (--future)\n"
    )
    assert not out.exists()
