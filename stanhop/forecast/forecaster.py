"""Forecasts from a checkpoint: ``Forecaster.load(ckpt).predict(history)``."""

from __future__ import annotations

import copy
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from stanhop.data import (
    DataError,
    DataWarning,
    Scaler,
    parse_long_frame,
    parse_wide_frame,
    read_long_csv,
    read_wide_csv,
)
from stanhop.data.header import check_dialect
from stanhop.data.reading import read_header
from stanhop.data.sources import table_layout
from stanhop.data.targets import check_targets, indices_of
from stanhop.data.validate import FILLED
from stanhop.data.windows import cut_windows, window_starts
from stanhop.files.checkpoint import INTERVALS_KEY, CheckpointError, load_checkpoint, model_weights
from stanhop.files.run_dir import best_checkpoint
from stanhop.forecast.filled import report_filled
from stanhop.forecast.future import (
    future_values,
    known_features,
    raw_table,
    read_future_table,
    split_trailing,
)
from stanhop.forecast.intervals import (
    Levels,
    add_interval_columns,
    as_levels,
    half_widths,
    to_nixtla,
)
from stanhop.forecast.shift import warn_if_far, warn_if_flat
from stanhop.forecast.timestamps import future_index
from stanhop.measures.conformal import (
    DEFAULT_LEVELS,
    SCALE_FLOOR,
    Calibration,
    calibrate,
    revin_of,
    window_scale,
)
from stanhop.model import build_model
from stanhop.model.targets import select
from stanhop.runtime.precision import BF16_MIXED, SHORT_NAMES, resolve_precision

History = str | Path | pd.DataFrame
# The name of a history given as a DataFrame, in messages.
FRAME_SOURCE = "DataFrame"
# Forecast precisions: fp32, bf16 autocast, or bf16 where the hardware runs it natively.
PRECISIONS = tuple(SHORT_NAMES)
# How many windows of the history calibrate a quantized model's activation ranges.
CALIBRATION_WINDOWS = 512
# --quantize's name of the real integer model (the others are simulated bit widths, W8A8).
INT8 = "int8"


class ForecastError(ValueError):
    """A forecast asked for in a way that cannot work (a horizon beyond the trained one,
    an output that would overwrite the input, …), described in one line with the fix."""


def check_precision(precision: str) -> None:
    """Raise :class:`ForecastError` unless ``precision`` is one of :data:`PRECISIONS`."""
    if precision not in PRECISIONS:
        raise ForecastError(
            f"precision {precision!r} is not one of {', '.join(PRECISIONS)}; use 32 for "
            "fp32, bf16 for bf16 autocast, auto for bf16 where the hardware runs it natively"
        )


def _wide(
    data: History,
    date_column: str | None,
    nan_policy: str,
    series: Sequence[str],
    last: int,
    sep: str = ",",
    decimal: str = ".",
    covariates: Sequence[str] = (),
) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        return read_wide_csv(data, date_column, nan_policy, series, last, sep, decimal)
    if isinstance(data.index, pd.DatetimeIndex):
        data = data.reset_index(names=data.index.name or "date")
    return parse_wide_frame(data, FRAME_SOURCE, date_column, nan_policy, series)


def _long(
    data: History,
    date_column: str | None,
    nan_policy: str,
    series: Sequence[str],
    last: int,
    sep: str = ",",
    decimal: str = ".",
    covariates: Sequence[str] = (),
) -> pd.DataFrame:
    # Always read whole: the rows of a timestamp need not be near each other (to_long
    # writes series after series), so the end of the file may hold a single series.
    if date_column is not None:
        raise ForecastError(
            f"date_column={date_column!r} applies to the wide format; the long format's "
            "timestamps are always in column 'ds'"
        )
    if not isinstance(data, pd.DataFrame):
        return read_long_csv(data, nan_policy, series, sep, decimal, covariates)
    return parse_long_frame(data, FRAME_SOURCE, nan_policy, series, covariates=covariates)


# Input layouts by name: each reads a file or a table in memory into the wide frame of
# stanhop.data.read_wide_csv, holding just the given series, in that order, and at least
# the last `last` rows of the data (a reader may skip those before, see read_wide_csv);
# three more, optional, are the separator and decimal mark of a CSV file and the extra
# columns of a long table to read as covariates.
Reader = Callable[..., pd.DataFrame]
INPUT_FORMATS: dict[str, Reader] = {
    "wide": _wide,
    "long": _long,
}


def layout_of(data: History, format: str, date_column: str | None, sep: str) -> str:
    """``wide`` or ``long``: ``format`` itself, or for ``auto`` what the columns of
    ``data`` (a frame, or a CSV file's header) say, as training decides."""
    if format != "auto":
        return format
    if isinstance(data, pd.DataFrame):
        return table_layout(format, [str(c) for c in data.columns], date_column, FRAME_SOURCE)
    path = Path(data)
    if not path.is_file():
        return "wide"  # its reader says the file is missing
    columns = read_header(path, check_dialect(sep, ".", path))
    return table_layout(format, columns, date_column, str(path))


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
        # Matrix products under bf16 autocast (``bf16``, or ``auto`` on hardware that
        # multiplies bf16 natively).
        device = next(model.parameters()).device
        self._bf16 = resolve_precision(SHORT_NAMES[precision], device.type)[0] == BF16_MIXED
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
        path = best_checkpoint(path)
        checkpoint = load_checkpoint(path, map_location)
        hparams = checkpoint["hyper_parameters"]
        weights = model_weights(checkpoint["state_dict"])
        if not weights:
            raise CheckpointError(
                f"{path}: not a stanhop checkpoint (its state_dict has no model weights); "
                "give a checkpoint written by stanhop's train.py"
            )
        try:
            spec = dict(hparams["model"])
            model = build_model(spec)
            model.load_state_dict(weights)
            forecaster = cls(
                model.to(next(iter(weights.values())).device),
                Scaler.from_dict(hparams["scaler"]),
                hparams["series_names"],
                in_len=spec["in_len"],
                out_len=spec["out_len"],
                freq=hparams.get("freq"),
                last_train_timestamp=hparams.get("last_train_timestamp"),
                name=str(path),
                precision=precision,
                intervals=(
                    Calibration.from_dict(checkpoint[INTERVALS_KEY])
                    if INTERVALS_KEY in checkpoint
                    else None
                ),
                targets=hparams.get("targets"),
                calendar=hparams.get("calendar") or (),
                future=hparams.get("future") or (),
                # Checkpoints from before the zone was kept: the offset of the last
                # training timestamp, if it had one.
                timezone=hparams["timezone"]
                if "timezone" in hparams
                else _zone_of(hparams.get("last_train_timestamp")),
                checkpoint=path,
            )
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            reason = str(err).strip().splitlines()[0][:300] if str(err).strip() else repr(err)
            raise CheckpointError(
                f"{path}: cannot rebuild the model from the checkpoint ({reason}); it may "
                "come from another version of stanhop"
            ) from err
        return forecaster

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
        if format not in INPUT_FORMATS:
            raise ForecastError(
                f"unknown input format {format!r}; use one of {', '.join(INPUT_FORMATS)}"
            )
        last = None if whole else self.in_len + windows - 1
        source = FRAME_SOURCE if isinstance(data, pd.DataFrame) else data
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
        horizon = self._check_horizon(horizon)
        forecaster, windows = self, CALIBRATION_WINDOWS
        if recalibrate is None:
            self._interval_widths(intervals)  # before reading: a wrong level fails at once
        else:
            windows = max(windows, recalibrate + self.out_len)
        format = layout_of(data, format, date_column, sep)
        history = self.read_history(
            data, date_column, nan_policy, format, sep, decimal, windows=windows
        )
        source = FRAME_SOURCE if isinstance(data, pd.DataFrame) else data
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
        if windows < 1:
            raise ForecastError(f"recalibrate on at least 1 window, got {windows}")
        needed = self.in_len + self.out_len + windows - 1
        if len(history) < needed:
            raise DataError(
                f"{source}: {len(history)} rows of history, but recalibrating on {windows} "
                f"windows needs in_len + out_len + {windows} - 1 = {needed}; give a longer "
                "history or recalibrate on fewer windows"
            )
        values, known = self.inputs(history, source)
        last = len(history) - self.out_len  # the first forecast row of the latest window
        errors, scales = self.window_errors(values, known, np.arange(last - windows + 1, last + 1))
        per_window = revin_of(self.model) is not None
        calibration = calibrate(
            errors,
            self.intervals.levels if self.intervals else DEFAULT_LEVELS,
            scales if per_window else None,
            self.intervals.floors() if self.intervals else SCALE_FLOOR,
        )
        recalibrated = copy.copy(self)
        recalibrated.intervals = calibration
        return recalibrated

    def inputs(
        self, history: pd.DataFrame, source: str | Path = FRAME_SOURCE
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """What the model reads of each row of ``history`` (a frame from
        :meth:`read_history`): its values standardised (t, c) and, for a model with
        calendar features or future covariates, what it knows of the row in advance (t,
        f; calendar features in the training data's time zone), else None."""
        raw = history.to_numpy(np.float64)
        values = torch.as_tensor(self.scaler.transform(raw), dtype=torch.float32)
        if not self.calendar and not self.future:
            return values, None
        columns = [self.series_names.index(c) for c in self.future]
        known = known_features(
            self.calendar_index(history.index, source),
            self.calendar,
            self.future,
            raw[:, columns],
            self.scaler,
            self.series_names,
        )
        return values, torch.as_tensor(known, dtype=torch.float32)

    def run_windows(
        self, values: torch.Tensor, known: torch.Tensor | None, origins: np.ndarray
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The windows of ``values`` (t, c) whose first forecast rows are ``origins`` (b,):
        their inputs (b, in_len, c), targets (b, out_len, k) and the model's forecasts (b,
        out_len, k), standardised, in fp32 as validation runs (``known``: see
        :meth:`inputs`)."""
        device = next(self.model.parameters()).device
        x = cut_windows(values, origins - self.in_len, self.in_len)
        y = select(cut_windows(values, origins, self.out_len), self.target_indices)
        with torch.inference_mode(), torch.autocast(device.type, enabled=False):
            extra = [] if known is None else [cut_windows(known, origins, self.out_len).to(device)]
            return x, y, self.model(x.to(device), *extra).float().cpu()

    def window_errors(
        self,
        values: torch.Tensor,
        known: torch.Tensor | None,
        origins: np.ndarray,
        batch_size: int = 256,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The model's absolute errors (n, out_len, k) on the windows whose first forecast
        rows are ``origins`` (n,), standardised, and each window's RevIN scale (n, k)."""
        errors, scales = [], []
        for chunk in np.array_split(origins, max(1, -(-len(origins) // batch_size))):
            x, y, pred = self.run_windows(values, known, chunk)
            errors.append((pred - y).abs().double().numpy())
            scales.append(window_scale(self.model, x)[:, 0].double().numpy())
        return np.concatenate(errors), np.concatenate(scales)

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
        if not self.future:
            if future is not None:
                name = FRAME_SOURCE if isinstance(future, pd.DataFrame) else future
                raise ForecastError(
                    f"{name}: the model takes no future covariate values (it was trained "
                    "without data.future); leave out future= (--future)"
                )
            return None
        if future is not None:
            return read_future_table(future, self.future, date_column, sep, decimal)
        if format != "wide":
            raise ForecastError(
                f"the model needs the future values of {', '.join(self.future)}; give them "
                "as a wide table with --future FILE (future=...)"
            )
        raw, source, where = raw_table(data, sep, decimal)
        trailing = split_trailing(raw, self.targets)[1]
        date = date_column or str(raw.columns[0])
        keep = [date, *[c for c in self.future if c in raw.columns]]
        if trailing.empty:
            return pd.DataFrame(columns=self.future, index=pd.DatetimeIndex([]), dtype=float)
        return parse_wide_frame(trailing[keep], source, date, "error", where=where)

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
        horizon = self._check_horizon(horizon)
        widths = self._interval_widths(intervals)
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
            values = self._forecast(window, self._known(stamps, future, source))
        index, values = stamps[:horizon], values[:horizon]
        if not np.isfinite(values).all():
            raise DataError(self._not_finite(window, source))
        # After the overflow check, whose error already says what is wrong with the data.
        warn_if_far(window, self.scaler, self.series_names, source)
        x = torch.as_tensor(self.scaler.transform(window), dtype=torch.float32)[None]
        scale = window_scale(self.model, x)  # (1, 1, k)
        flat = self.flat_windows(scale).numpy()
        warn_if_flat(flat, self.targets, source, self.in_len)
        forecast = pd.DataFrame(values, index=index, columns=self.targets)
        if not widths:
            return forecast
        if self.intervals.note:
            warnings.warn(f"{source}: {self.intervals.note}", DataWarning, stacklevel=2)
        if not self.intervals.per_window and revin_of(self.model) is not None:
            warnings.warn(
                f"{self.name}: its intervals were calibrated in training units, so they do "
                "not follow a history at another scale as the forecast does; recalibrate "
                "them by training the model again",
                DataWarning,
                stacklevel=2,
            )
        widths = {lv: self.intervals.scaled(lv, scale)[0].double().numpy() for lv in widths}
        if horizon > self.out_len:
            # Calibrated for the first out_len steps only: later steps get no interval.
            beyond = np.full((horizon - self.out_len, len(self.targets)), np.nan)
            widths = {lv: np.concatenate([r, beyond]) for lv, r in widths.items()}
        return add_interval_columns(forecast, widths, self.target_scaler.std)

    def flat_windows(self, scale: torch.Tensor) -> torch.Tensor:
        """Which target series of the windows of RevIN scale ``scale`` (b, 1, k, see
        :func:`~stanhop.measures.conformal.window_scale`) are flat, a spread under the
        floor of their intervals (:data:`~stanhop.measures.conformal.SCALE_FLOOR` of
        the training spread): (b, k) bool, all False for a model without RevIN, which
        forecasts every window on the training scale."""
        if revin_of(self.model) is None:
            return torch.zeros(scale.shape[0], scale.shape[2], dtype=torch.bool)
        floor = SCALE_FLOOR if self.intervals is None else self.intervals.floors()
        floor = torch.as_tensor(floor, dtype=scale.dtype, device=scale.device)
        return (scale < floor).cpu()[:, 0]

    def _roll(
        self, window: np.ndarray, index: pd.DatetimeIndex, horizon: int, source: str | Path
    ) -> tuple[np.ndarray, pd.DatetimeIndex]:
        """Forecast ``horizon`` > out_len steps recursively: each round of out_len steps
        is appended to the window the next round reads. Warns (one line) that the steps
        beyond out_len are recursive. Returns (values (≥ horizon, k), their stamps)."""
        rounds = -(-horizon // self.out_len)
        stamps = future_index(
            index[-max(self.in_len, 3) :], rounds * self.out_len, self.freq, source
        )
        message = (
            f"{source}: steps {self.out_len + 1} to {horizon} lie beyond the model's trained "
            f"horizon (out_len={self.out_len}) and are recursive: forecast from its own "
            "forecasts, their errors compound"
        )
        if self.intervals is not None:
            message += f"; prediction intervals cover the first {self.out_len} steps only"
        warnings.warn(message, DataWarning, stacklevel=3)
        order = self.target_indices or list(range(len(self.series_names)))
        values, current = [], window
        for r in range(rounds):
            span = stamps[r * self.out_len : (r + 1) * self.out_len]
            step = self._forecast(current, self._known(span, None, source))  # (out_len, k)
            values.append(step)
            rows = np.empty((self.out_len, current.shape[1]))
            rows[:, order] = step  # every input is a target (checked), in the model's order
            current = np.concatenate([current, rows])[-self.in_len :]
        return np.concatenate(values), stamps

    def _interval_widths(self, levels: Levels | None) -> dict[float, np.ndarray]:
        """The standardised half-widths (out_len, k) of each level asked for."""
        if levels is None or (isinstance(levels, Sequence) and not levels):
            return {}
        try:
            return half_widths(self.intervals, as_levels(levels), self.name)
        except ValueError as err:
            raise ForecastError(str(err)) from None

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
        # Imported here: the quantisation backend is slow to import and most forecasts
        # never need it.
        from stanhop.measures import SimulatedQuantModel

        if bits.lower() == INT8:
            model, label = self._int8(history, max_windows), INT8
        else:
            if history is None:
                raise ForecastError(f"--quantize {bits}: calibration needs a history")
            model = SimulatedQuantModel(self.model, bits, estimator)
            model.calibrate(self._calibration_batches(history, max_windows))
            label = f"simulated {model.bits.name}"
        return Forecaster(
            model,
            self.scaler,
            self.series_names,
            self.in_len,
            self.out_len,
            self.freq,
            self.last_train_timestamp,
            name=f"{self.name} ({label})",
            # Both integer models compute on fp32 values, like the training-time simulation.
            precision="32",
            intervals=self.intervals
            and replace(
                self.intervals,
                note=f"the intervals were calibrated on the float model, not on its "
                f"{label} copy, so they may not hold their level",
            ),
            targets=self.targets,
            calendar=self.calendar,
            future=self.future,
            timezone=self.timezone,
            checkpoint=self.checkpoint,
        )

    def calendar_index(self, index: pd.DatetimeIndex, source: str | Path) -> pd.DatetimeIndex:
        """``index`` in the time zone of the training data, whose hours and days the
        calendar features were learnt on; a :class:`~stanhop.data.DataError` when one of
        the two has a zone and the other none (their hours cannot be matched)."""
        if not self.calendar or (index.tz is None and self.timezone is None):
            return index
        if index.tz is not None and self.timezone is not None:
            return index.tz_convert(self.timezone)
        if self.timezone is None:
            raise DataError(
                f"{source}: the timestamps are in {index.tz}, but the model learnt its "
                "calendar features on timestamps without a time zone; give them in the "
                "training data's local time, without a zone (e.g. df.index.tz_localize(None))"
            )
        raise DataError(
            f"{source}: the timestamps have no time zone, but the model learnt its calendar "
            f"features in {self.timezone}; give them with their UTC offset (e.g. "
            f"df.index.tz_localize({self.timezone!r}) if they are that zone's local time)"
        )

    def int8_file(self) -> Path | None:
        """Where this forecaster's integer model is saved (beside its checkpoint); None
        for a forecaster not loaded from a file."""
        if self.checkpoint is None:
            return None
        from stanhop.measures.int8 import SUFFIX

        return self.checkpoint.with_name(self.checkpoint.stem + SUFFIX)

    def saved_int8(self) -> Path | None:
        """The saved integer model when it is at least as new as the checkpoint (a
        checkpoint written again makes it stale), else None."""
        path = self.int8_file()
        if path is None or not path.is_file():
            return None
        return path if path.stat().st_mtime >= self.checkpoint.stat().st_mtime else None

    def _int8(self, history: pd.DataFrame | None, max_windows: int) -> nn.Module:
        from stanhop.measures.int8 import SUFFIX, Int8Error, load_int8, quantize_int8

        try:
            saved = self.saved_int8()
            if saved is not None:
                return load_int8(saved, self.model)
            if history is None:
                raise ForecastError(
                    f"{self.name}: no saved int8 model beside it, and no history to calibrate "
                    "one on; give the history the model was trained on"
                )
            batches = self._calibration_batches(self.training_rows(history), max_windows)
            path = self.int8_file()
            if path is None:  # a model in memory: its package lives as long as the process
                path = Path(tempfile.mkdtemp(prefix="stanhop-int8-")) / f"model{SUFFIX}"
            return quantize_int8(self.model, batches, path)
        except Int8Error as err:
            raise ForecastError(f"{self.name}: {err}") from err

    def training_rows(self, history: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``history`` up to the end of the training split
        (``last_train_timestamp``); a one-line :class:`ForecastError` when the checkpoint
        does not record it or ``history`` holds fewer than one window of them."""
        if self.last_train_timestamp is None:
            raise ForecastError(
                f"{self.name}: the checkpoint does not record where its training split "
                "ended, so calibration cannot keep to it; train the model again"
            )
        end = pd.Timestamp(self.last_train_timestamp)
        if history.index.tz is not None and end.tz is None:
            end = end.tz_localize(history.index.tz)
        elif history.index.tz is None and end.tz is not None:
            end = end.tz_localize(None)
        rows = history.loc[history.index <= end]
        if len(rows) < self.in_len + self.out_len:
            raise ForecastError(
                f"calibration reads the training split only (up to {end}), and the history "
                f"holds {len(rows)} rows of it, fewer than one window (in_len + out_len = "
                f"{self.in_len + self.out_len}); give the history the model was trained on"
            )
        return rows

    def _calibration_batches(
        self, history: pd.DataFrame, max_windows: int
    ) -> list[torch.Tensor | tuple[torch.Tensor, torch.Tensor]]:
        """The model's inputs on the last ``max_windows`` windows of ``history``, in
        batches of 32: ``x`` (b, in_len, c), with ``future`` (b, out_len, f) for a model
        with future features (then only windows whose horizon lies in ``history``)."""
        series, known = self.inputs(history, "history")
        horizon = 0 if known is None else self.out_len
        starts = window_starts(len(series), self.in_len + horizon)[-max_windows:]
        device = next(self.model.parameters()).device
        windows = cut_windows(series, starts, self.in_len).split(32)  # (b, in_len, c) each
        if known is None:
            return [x.to(device) for x in windows]
        ahead = cut_windows(known, starts + self.in_len, self.out_len)
        return [(x.to(device), f.to(device)) for x, f in zip(windows, ahead.split(32), strict=True)]

    def _known(
        self, stamps: pd.DatetimeIndex, future: pd.DataFrame | None, source: str | Path
    ) -> np.ndarray | None:
        """The model's future input (out_len, f) for the horizon ``stamps``; None for a
        model without."""
        if not self.calendar and not self.future:
            return None
        values = np.zeros((len(stamps), 0))
        if self.future:
            if future is None:
                raise ForecastError(
                    f"{source}: the model needs the future values of "
                    f"{', '.join(self.future)}; give them with future=... (--future FILE)"
                )
            values = future_values(future, self.future, stamps, source, "the data")
        return known_features(
            self.calendar_index(stamps, source),
            self.calendar,
            self.future,
            values,
            self.scaler,
            self.series_names,
        )

    def _forecast(self, window: np.ndarray, known: np.ndarray | None = None) -> np.ndarray:
        """``window`` (in_len, c) in original units [and the future input ``known``
        (out_len, f)] → forecast (out_len, k) of the targets, float64."""
        device = next(self.model.parameters()).device
        x = torch.as_tensor(self.scaler.transform(window), dtype=torch.float32, device=device)
        extra = (
            []
            if known is None
            else [torch.as_tensor(known, dtype=torch.float32, device=device)[None]]
        )
        with (
            torch.inference_mode(),
            torch.autocast(device.type, dtype=torch.bfloat16, enabled=self._bf16),
        ):
            y = self.model(x[None], *extra)[0]  # (1, in_len, c) → (out_len, k)
        return self.target_scaler.inverse_transform(y.to("cpu", torch.float64).numpy())

    def _not_finite(self, window: np.ndarray, source: str | Path) -> str:
        """Why the forecast from ``window`` (in_len, c) overflowed: its most extreme value,
        in standard deviations of the training data."""
        deviations = np.abs(self.scaler.transform(window))
        row, col = np.unravel_index(np.nanargmax(deviations), deviations.shape)
        return (
            f"{source}: the forecast is not finite (it overflowed): series "
            f"{self.series_names[col]!r} holds {window[row, col]:g} in the last "
            f"in_len={self.in_len} rows, {deviations[row, col]:.3g} standard deviations from "
            "the training data's mean; check the data's units, or remove the outlier"
        )

    def _check_horizon(self, horizon: int | None) -> int:
        if horizon is None:
            return self.out_len
        if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 1:
            raise ForecastError(f"horizon must be a whole number of steps >= 1, got {horizon!r}")
        # Beyond out_len the model rolls forward on its own forecasts, which needs every
        # input it reads to be forecast (or known): covariates it does not forecast are not.
        unknown = self.covariates
        if horizon > self.out_len and unknown:
            raise ForecastError(
                f"horizon {horizon} is longer than the model's trained horizon "
                f"(out_len={self.out_len}), and the model cannot roll forward on its own "
                f"forecasts: it does not forecast its covariates {', '.join(unknown)}; ask for "
                f"at most {self.out_len} steps, or train a model with data.out_len={horizon}"
            )
        return int(horizon)


def _zone_of(timestamp: str | None) -> str | None:
    """The time zone (a UTC offset) of an ISO timestamp, None without one."""
    zone = None if timestamp is None else pd.Timestamp(timestamp).tz
    return None if zone is None else str(zone)
