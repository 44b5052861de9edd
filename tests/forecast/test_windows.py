"""The windows a forecaster reads: where their forecasts start, their batches, the
recalibration's latest windows, and one window run by the backtest's batched path and
by the forecast's single-window path giving the same forecast."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from stanhop import Forecaster
from stanhop.data import DataError
from stanhop.forecast import ForecastError
from stanhop.forecast.windows import batches, forecast_window, latest_origins, origins, run_windows

INDEX = pd.date_range("2024-01-01", periods=30, freq="h")


def test_origins_keep_in_len_rows_before_and_the_forecast_inside_the_range() -> None:
    np.testing.assert_array_equal(origins(INDEX, 8, 4), np.arange(8, 27))
    np.testing.assert_array_equal(origins(INDEX, 8, 4, stride=5), [8, 13, 18, 23])
    rows = origins(INDEX, 8, 4, start=INDEX[20], end=INDEX[25])
    np.testing.assert_array_equal(rows, [20, 21, 22])
    with pytest.raises(ValueError, match="the stride must be a whole number of steps >= 1"):
        origins(INDEX, 8, 4, stride=0)


def test_batches_split_the_rows_in_order_into_chunks_of_at_most_the_size() -> None:
    chunks = list(batches(np.arange(10), 4))
    assert [len(c) for c in chunks] == [4, 3, 3]
    np.testing.assert_array_equal(np.concatenate(chunks), np.arange(10))
    assert [len(c) for c in batches(np.arange(3), 256)] == [3]


def test_latest_origins_are_the_last_windows_whose_forecast_fits() -> None:
    np.testing.assert_array_equal(latest_origins(30, 8, 4, 3, "f.csv"), [24, 25, 26])
    with pytest.raises(ForecastError, match="recalibrate on at least 1 window, got 0"):
        latest_origins(30, 8, 4, 0, "f.csv")
    with pytest.raises(DataError, match=r"^f\.csv: 12 rows of history, but recalibrating on 2"):
        latest_origins(12, 8, 4, 2, "f.csv")


def test_the_batched_and_the_single_window_paths_forecast_alike(synthetic_run) -> None:
    forecaster = Forecaster.load(synthetic_run.ckpt)
    history = forecaster.read_history(synthetic_run.csv)
    values, known = forecaster.inputs(history)
    row = np.array([len(history) - forecaster.out_len])
    x, y, pred = run_windows(
        forecaster.model, values, known, row, forecaster.in_len, forecaster.out_len, None
    )
    window = history.iloc[row[0] - forecaster.in_len : row[0]].to_numpy(np.float64)
    single = forecast_window(forecaster.model, forecaster.scaler, forecaster.scaler, window)
    expected = forecaster.scaler.inverse_transform(pred[0].double().numpy())
    np.testing.assert_allclose(single, expected, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(x[0], values[row[0] - forecaster.in_len : row[0]])
    torch.testing.assert_close(y[0], values[row[0] : row[0] + forecaster.out_len])
