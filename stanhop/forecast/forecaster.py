"""Forecasts from a checkpoint: ``Forecaster.load(ckpt).predict(history)``, put together
from the modules beside it (checkpoint, formats, inputs, windows, rollout, intervals,
quantize)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from stanhop.data import DataError, Scaler, parse_wide_frame
from stanhop.data.targets import check_targets, indices_of
from stanhop.data.validate import FILLED
from stanhop.forecast.checkpoint import load_forecaster
from stanhop.forecast.errors import ForecastError
from stanhop.forecast.filled import report_filled
from stanhop.forecast.formats import (
    FRAME_SOURCE,
    INPUT_FORMATS,
    History,
    check_format,
    layout_of,
    raw_table,
    source_of,
    split_trailing,
)
from stanhop.forecast.future import read_future
from stanhop.forecast.inputs import ModelInputs
from stanhop.forecast.intervals import (
    Levels,
    add_interval_columns,
    forecast_widths,
    recalibration,
    requested_widths,
    to_nixtla,
)
from stanhop.forecast.precision import check_precision, uses_bf16
from stanhop.forecast.quantize import (
    CALIBRATION_WINDOWS,
    Batches,
    quantized_model,
    saved_int8,
    training_rows,
)
from stanhop.forecast.rollout import check_horizon, roll, warn_recursive
from stanhop.forecast.shift import flat_windows, not_finite, warn_if_far, warn_if_flat
from stanhop.forecast.timestamps import future_index
from stanhop.forecast.windows import (
    forecast_window,
    input_batches,
    latest_origins,
    window_errors,
)
from stanhop.measures.conformal import Calibration, window_scale

# ForecastError too: what a forecast raises, importable beside the Forecaster.
__all__ = ["CALIBRATION_WINDOWS", "ForecastError", "Forecaster"]


class Forecaster:
    """A trained model with all it needs to forecast in the data's own units: the
    standardisation of its training data, the names of its series and the frequency
    of its timestamps.

    ``Forecaster.load(path)`` reads a checkpoint a training run wrote; :meth:`predict`
    forecasts the steps after the end of a history (a CSV file or a DataFrame).
    ``intervals``, the calibration of its prediction intervals (None for a checkpoint
    without), lets :meth:`predict` add them.

    ``series_names`` are the columns the model reads (its inputs, which ``scaler``
    standardises); ``targets`` those it forecasts (default: all), the others being past
    covariates: a history must hold them, a forecast never does. ``calendar`` names the
    calendar features and ``future`` the covariates whose values over the horizon the
    model takes (see :meth:`read_future`); ``timezone`` is the time zone of the training
    data's timestamps (None: they had none), in which calendar features are built.
    """

    def __init__(
        self,
        model: nn.Module,
        scaler: Scaler,
        series_names: Sequence[str],
        in_len: int,
        out_len: int,
        freq: str | None = None,
        last_train_timestamp: str | None = None,
        name: str = "model",
        precision: str = "32",
        intervals: Calibration | None = None,
        targets: Sequence[str] | None = None,
        calendar: Sequence[str] = (),
        future: Sequence[str] = (),
        timezone: str | None = None,
        checkpoint: Path | None = None,
    ) -> None:
        if not len(scaler.mean) == len(scaler.std) == len(series_names):
            raise ValueError("the scaler needs one mean and one std per series name")
        check_precision(precision)
        self.model = model.eval()
        self._bf16 = uses_bf16(precision, next(model.parameters()).device)
        self.scaler = scaler
        self.series_names = [str(s) for s in series_names]
        self.targets = check_targets(self.series_names, targets, "the model")
        self.covariates = [s for s in self.series_names if s not in set(self.targets)]
        self.target_scaler = scaler.select(self.target_indices)
        self.calendar, self.future = list(calendar), list(future)
        self.timezone = timezone
        self.in_len, self.out_len = int(in_len), int(out_len)
        self.freq = freq
        self.last_train_timestamp = last_train_timestamp
        self.name = name
        self.intervals = intervals
        # The file the model was loaded from (None when built in memory): a saved integer
        # model goes beside it.
        self.checkpoint = checkpoint

    @classmethod
    def load(cls, path: str | Path, map_location: Any = "cpu", precision: str = "32") -> Forecaster:
        """The forecaster in checkpoint ``path`` (or in the best checkpoint of the training
        run whose folder ``path`` is), read with ``torch.load(weights_only=True)``;
        ``map_location`` (as for ``torch.load``) says where the model runs, so ``"cpu"``
        (the default) also loads a GPU-trained checkpoint on a machine without a GPU.
        ``precision``: ``32`` (the default, reproducible to the last digit), ``bf16``
        (matrix products under bf16 autocast) or ``auto`` (bf16 where the hardware
        multiplies it natively, see :mod:`stanhop.runtime.precision`).

        Raises :class:`~stanhop.files.checkpoint.CheckpointError` for a checkpoint that is
        missing, damaged or not a stanhop checkpoint.
        """
        check_precision(precision)
        return load_forecaster(cls, path, map_location, precision)

    @property
    def target_indices(self) -> list[int] | None:
        """The targets' columns of the inputs; None when they are all the inputs, in order."""
        return indices_of(self.series_names, self.targets)

    def __repr__(self) -> str:
        covariates = f", covariates={len(self.covariates)}" if self.covariates else ""
        return (
            f"Forecaster({self.name!r}, series={len(self.targets)}{covariates}, "
            f"in_len={self.in_len}, out_len={self.out_len}, freq={self.freq!r})"
        )

    @property
    def model_inputs(self) -> ModelInputs:
        """How rows become the model's inputs (see :mod:`stanhop.forecast.inputs`)."""
        names, calendar, future = self.series_names, self.calendar, self.future
        return ModelInputs(self.scaler, names, calendar, future, self.timezone)

    def read_history(
        self,
        data: History,
        date_column: str | None = None,
        nan_policy: str = "error",
        format: str = "wide",
        sep: str = ",",
        decimal: str = ".",
        windows: int = CALIBRATION_WINDOWS,
        *,
        whole: bool = False,
    ) -> pd.DataFrame:
        """The history in ``data``, checked: a frame indexed by its timestamps with one
        float64 column per series of the model, in training order, and at least
        ``in_len`` rows. Arguments as for :meth:`predict`.

        A large wide CSV file is read only from its end (see
        :func:`~stanhop.data.read_wide_csv`), in memory that does not grow with the file:
        the last ``in_len + windows - 1`` rows (``windows`` input windows; by default
        :data:`CALIBRATION_WINDOWS`, all that :meth:`predict`, :meth:`quantized`
        (simulated) and a plot use). Only those rows are validated then. ``whole=True``
        reads every row (the int8 calibration reads the training split).

        Cells filled by ``nan_policy`` in the last ``in_len`` rows are counted per series
        in a :class:`~stanhop.data.DataNote`; a series filled over more than half of them
        gets a :class:`~stanhop.data.DataWarning` (an error under ``--strict``).
        """
        check_format(format)
        last = None if whole else self.in_len + windows - 1
        source = source_of(data)
        if self.future and format == "wide":
            # The rows after the last target value may hold future covariates only.
            raw, source, where = raw_table(data, sep, decimal)
            history = split_trailing(raw, self.targets)[0]
            frame = parse_wide_frame(
                history, source, date_column, nan_policy, self.series_names, where=where
            )
        else:
            frame = INPUT_FORMATS[format](
                data, date_column, nan_policy, self.series_names, last, sep, decimal, self.future
            )
        if len(frame) < self.in_len:
            raise DataError(
                f"{source}: {len(frame)} rows of history, but the model reads the last "
                f"in_len={self.in_len}; give at least {self.in_len} rows"
            )
        filled = frame.attrs.pop(FILLED, {})
        report_filled(filled, len(frame), self.in_len, nan_policy, source)
        return frame

    def predict(
        self,
        data: History,
        horizon: int | None = None,
        date_column: str | None = None,
        nan_policy: str = "error",
        format: str = "auto",
        intervals: Levels | None = None,
        sep: str = ",",
        decimal: str = ".",
        future: History | None = None,
        recalibrate: int | None = None,
    ) -> pd.DataFrame:
        """Forecast the ``horizon`` steps (default: all ``out_len`` the model was trained
        for) after the end of ``data``. A horizon beyond ``out_len`` is forecast
        recursively, each ``out_len`` steps from the forecasts before them, with a
        one-line :class:`~stanhop.data.DataWarning`; only a model that forecasts every
        series it reads can do that, and its intervals cover the first ``out_len`` steps
        (later interval columns are empty).

        ``data`` is a CSV file or a DataFrame holding the history, in the ``wide`` layout
        (a timestamp column — ``date_column``, default the first — or a DatetimeIndex,
        and one column per series) or the ``long`` one (``unique_id, ds, y``); ``format``
        ``auto`` takes long when those three columns are there, as training does. Series
        are matched by name; other columns are ignored with a
        :class:`~stanhop.data.DataWarning`.
        ``nan_policy`` (``error``, ``ffill``, ``interpolate``) handles missing values;
        ``sep`` and ``decimal`` are the column separator and decimal mark of a CSV file.
        The model reads the last ``in_len`` rows.

        Returns a frame with one row per future step, indexed by timestamps that continue
        those of ``data`` at their frequency, and one column per target series, in the
        data's original units (past covariates are read from ``data`` but not
        forecast). ``intervals`` (levels in percent: ``(80, 95)``, ``80`` or ``"80,95"``)
        adds, after each series, its prediction interval of each level as columns
        ``SERIES_lo_80``,
        ``SERIES_hi_80``, … (split-conformal, calibrated when the model was trained, see
        :mod:`stanhop.measures.conformal`); with ``recalibrate`` (a number of windows),
        calibrated instead on the model's errors on that many latest windows of ``data``
        (see :meth:`recalibrated`). A long history gets a long forecast, as Nixtla's
        libraries give one: ``unique_id, ds``, a column named after the model class
        (``STanHopNet``) and ``STanHopNet-lo-80``, ``STanHopNet-hi-80``, ….

        A model trained with future covariates (``data.future``) needs their values over
        the ``out_len`` steps after the history: from the table ``future``, or from rows
        of ``data`` after its last target value (see :meth:`read_future`); calendar
        features are built from the timestamps.

        Raises :class:`~stanhop.data.DataError` for bad data (also for future values that
        are missing) and :class:`ForecastError` for a horizon or intervals the model
        cannot give.
        """
        horizon = check_horizon(horizon, self.out_len, self.covariates)
        forecaster, windows = self, CALIBRATION_WINDOWS
        if recalibrate is None:
            # Before reading: a wrong level fails at once.
            requested_widths(self.intervals, intervals, self.name)
        else:
            windows = max(windows, recalibrate + self.out_len)
        format = layout_of(data, format, date_column, sep)
        history = self.read_history(
            data, date_column, nan_policy, format, sep, decimal, windows=windows
        )
        source = source_of(data)
        known = self.read_future(data, future, date_column, sep, decimal, format)
        if recalibrate is not None:
            forecaster = self.recalibrated(history, recalibrate, source)
        forecast = forecaster.predict_history(history, horizon, source, intervals, known)
        if format == "long":
            return to_nixtla(forecast, self.targets, type(self.model).__name__)
        return forecast

    def recalibrated(
        self, history: pd.DataFrame, windows: int, source: str | Path = FRAME_SOURCE
    ) -> Forecaster:
        """This forecaster with its intervals calibrated on the model's errors on the
        ``windows`` latest windows of ``history`` (a frame from :meth:`read_history`)
        whose forecast lies inside it, as the training run calibrates on the validation
        windows (with the checkpoint's levels, the default ones without): intervals that
        follow the model's recent errors. This forecaster is unchanged.

        Raises :class:`~stanhop.data.DataError` for a history too short to hold them."""
        rows = latest_origins(len(history), self.in_len, self.out_len, windows, source)
        values, known = self.inputs(history, source)
        errors, scales = window_errors(
            self.model, values, known, rows, self.in_len, self.out_len, self.target_indices
        )
        recalibrated = copy.copy(self)
        recalibrated.intervals = recalibration(errors, scales, self.model, self.intervals)
        return recalibrated

    def inputs(
        self, history: pd.DataFrame, source: str | Path = FRAME_SOURCE
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """What the model reads of each row of ``history`` (a frame from
        :meth:`read_history`), see :meth:`ModelInputs.of_history
        <stanhop.forecast.inputs.ModelInputs.of_history>`."""
        return self.model_inputs.of_history(history, source)

    def read_future(
        self,
        data: History,
        future: History | None = None,
        date_column: str | None = None,
        sep: str = ",",
        decimal: str = ".",
        format: str = "wide",
    ) -> pd.DataFrame | None:
        """The known future values of the model's ``future`` covariates (None for a model
        without): the table ``future`` (a CSV file or DataFrame with a timestamp column
        and those columns) when given, else the rows of the wide history ``data`` after
        its last target value."""
        return read_future(
            data, future, self.future, self.targets, date_column, sep, decimal, format
        )

    def predict_history(
        self,
        history: pd.DataFrame,
        horizon: int | None = None,
        source: str | Path = FRAME_SOURCE,
        intervals: Levels | None = None,
        future: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """:meth:`predict` for a frame :meth:`read_history` returned; ``source`` names
        the data in messages (e.g. the file it was read from), ``future`` is what
        :meth:`read_future` returned. Each series far from the
        training data (see :mod:`stanhop.forecast.shift`) gets a
        :class:`~stanhop.data.DataWarning`."""
        horizon = check_horizon(horizon, self.out_len, self.covariates)
        widths = requested_widths(self.intervals, intervals, self.name)
        # C order whatever the frame's layout (a wide CSV reads column-major, a pivoted
        # long one row-major): the matrix products then add in the same order, so the
        # same history gives the same digits in either format.
        window = np.ascontiguousarray(history.iloc[-self.in_len :].to_numpy(dtype=np.float64))
        # At least three stamps, so pandas can infer the frequency even when in_len < 3.
        stamps = future_index(
            history.index[-max(self.in_len, 3) :], self.out_len, self.freq, source
        )
        if horizon > self.out_len:
            values, stamps = self._roll(window, history.index, horizon, source)
        else:
            values = self._forecast(window, self.model_inputs.of_horizon(stamps, future, source))
        index, values = stamps[:horizon], values[:horizon]
        if not np.isfinite(values).all():
            raise DataError(not_finite(window, self.scaler, self.series_names, source))
        # After the overflow check, whose error already says what is wrong with the data.
        warn_if_far(window, self.scaler, self.series_names, source)
        x = torch.as_tensor(self.scaler.transform(window), dtype=torch.float32)[None]
        scale = window_scale(self.model, x)  # (1, 1, k)
        flat = flat_windows(self.model, self.intervals, scale).numpy()
        warn_if_flat(flat, self.targets, source, self.in_len)
        forecast = pd.DataFrame(values, index=index, columns=self.targets)
        if not widths:
            return forecast
        widths = forecast_widths(
            self.intervals, widths, scale, horizon, self.model, self.name, source
        )
        return add_interval_columns(forecast, widths, self.target_scaler.std)

    def _roll(
        self, window: np.ndarray, index: pd.DatetimeIndex, horizon: int, source: str | Path
    ) -> tuple[np.ndarray, pd.DatetimeIndex]:
        """Forecast ``horizon`` > out_len steps recursively after ``window`` (in_len, c),
        the last rows of the history stamped ``index`` (see
        :mod:`~stanhop.forecast.rollout`). Returns (values (≥ horizon, k), their stamps)."""
        rounds = -(-horizon // self.out_len)
        stamps = future_index(
            index[-max(self.in_len, 3) :], rounds * self.out_len, self.freq, source
        )
        warn_recursive(horizon, self.out_len, source, self.intervals is not None)

        def step(current: np.ndarray, span: pd.DatetimeIndex) -> np.ndarray:
            return self._forecast(current, self.model_inputs.of_horizon(span, None, source))

        order = self.target_indices or list(range(len(self.series_names)))
        return roll(step, window, stamps, self.out_len, order), stamps

    def quantized(
        self,
        history: pd.DataFrame | None,
        bits: str = "W8A8",
        estimator: str = "running_minmax",
        max_windows: int = CALIBRATION_WINDOWS,
    ) -> Forecaster:
        """This forecaster with its model replaced by a quantised one; this forecaster is
        unchanged. ``history`` is a frame from :meth:`read_history` (or the whole data,
        read the same way).

        ``bits="int8"``: the real integer model (:mod:`stanhop.measures.int8`), its
        activation ranges calibrated on the last ``max_windows`` windows of ``history``
        that lie wholly in the training split (up to ``last_train_timestamp``, inputs and
        horizon), so never on validation or test rows. It is saved beside the checkpoint
        (``best.int8.pt2`` for ``best.ckpt``) and loaded from there while the checkpoint
        is not newer, with no calibration (``history`` may then be None).

        Other ``bits`` (``W8A8``, any ``W<b>A<b>``): the simulated-integer copy of the
        quantisation evaluation (:class:`~stanhop.measures.fake_quant.SimulatedQuantModel`),
        calibrated on the last ``max_windows`` windows of ``history`` with the range
        ``estimator``.
        """
        model, label = quantized_model(
            self.model, bits, estimator, self.checkpoint, self.name, history,
            lambda rows: self._calibration_batches(rows, max_windows), self.training_rows,
        )  # fmt: skip
        quantized = copy.copy(self)
        quantized.model = model.eval()
        # Both integer models compute on fp32 values, like the training-time simulation.
        quantized._bf16 = False
        quantized.name = f"{self.name} ({label})"
        quantized.intervals = self.intervals and replace(
            self.intervals,
            note=f"the intervals were calibrated on the float model, not on its {label} "
            "copy, so they may not hold their level",
        )
        return quantized

    def saved_int8(self) -> Path | None:
        """The saved integer model when it is at least as new as the checkpoint (a
        checkpoint written again makes it stale), else None."""
        return saved_int8(self.checkpoint)

    def training_rows(self, history: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``history`` up to the end of the training split
        (``last_train_timestamp``); a one-line :class:`ForecastError` when the checkpoint
        does not record it or ``history`` holds fewer than one window of them."""
        window = self.in_len + self.out_len
        return training_rows(history, self.last_train_timestamp, window, self.name)

    def _calibration_batches(self, history: pd.DataFrame, max_windows: int) -> Batches:
        """The model's inputs on the last ``max_windows`` windows of ``history`` (see
        :func:`~stanhop.forecast.windows.input_batches`)."""
        series, known = self.inputs(history, "history")
        return input_batches(self.model, series, known, self.in_len, self.out_len, max_windows)

    def _forecast(self, window: np.ndarray, known: np.ndarray | None = None) -> np.ndarray:
        """``window`` (in_len, c) in original units [and the future input ``known``
        (out_len, f)] → forecast (out_len, k) of the targets, float64."""
        scalers = self.scaler, self.target_scaler
        return forecast_window(self.model, *scalers, window, known, bf16=self._bf16)
