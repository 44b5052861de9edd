"""Forecasts from a trained checkpoint: :class:`Forecaster` (the library API), input
formats, future timestamps, rolling-origin backtests (:mod:`stanhop.forecast.backtest`),
output files and plots (:mod:`stanhop.forecast.plot`, which imports matplotlib). The
commands on top are in :mod:`stanhop.cli`."""

from stanhop.files.checkpoint import CheckpointError
from stanhop.forecast.errors import ForecastError
from stanhop.forecast.forecaster import Forecaster
from stanhop.forecast.formats import INPUT_FORMATS
from stanhop.forecast.timestamps import future_index

__all__ = ["INPUT_FORMATS", "CheckpointError", "ForecastError", "Forecaster", "future_index"]
