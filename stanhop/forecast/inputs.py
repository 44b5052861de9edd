"""What a model reads: each row's values, standardised, and — for a model with calendar
features or future covariates — its known-future input, built by
:func:`stanhop.data.calendar.known_inputs` as in training, with the calendar in the
training data's time zone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from stanhop.data import DataError, Scaler
from stanhop.data.calendar import known_inputs
from stanhop.forecast.errors import ForecastError
from stanhop.forecast.future import future_values


@dataclass(frozen=True)
class ModelInputs:
    """How a forecaster turns rows into the model's inputs: ``scaler`` standardises the
    ``series_names``; ``calendar`` names the calendar features and ``future`` the
    covariates whose values over the horizon the model takes; ``timezone`` is the zone
    the calendar features were learnt in (None: timestamps without one)."""

    scaler: Scaler
    series_names: Sequence[str]
    calendar: Sequence[str]
    future: Sequence[str]
    timezone: str | None

    @property
    def knows_ahead(self) -> bool:
        """Whether the model takes a known-future input."""
        return bool(self.calendar or self.future)

    def of_history(
        self, history: pd.DataFrame, source: str | Path
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """What the model reads of each row of ``history`` (a checked frame): its values
        standardised (t, c) and, for a model that knows rows ahead, its known-future input
        (t, f), else None."""
        raw = history.to_numpy(np.float64)
        values = torch.as_tensor(self.scaler.transform(raw), dtype=torch.float32)
        if not self.knows_ahead:
            return values, None
        known = self._known(history.index, raw[:, self._columns()], source)
        return values, torch.as_tensor(known, dtype=torch.float32)

    def of_horizon(
        self, stamps: pd.DatetimeIndex, table: pd.DataFrame | None, source: str | Path
    ) -> np.ndarray | None:
        """The known-future input (out_len, f) for the horizon ``stamps``, the future
        covariates' values taken from ``table`` (see
        :func:`~stanhop.forecast.future.read_future`); None for a model without."""
        if not self.knows_ahead:
            return None
        values = np.zeros((len(stamps), 0))
        if self.future:
            if table is None:
                raise ForecastError(
                    f"{source}: the model needs the future values of "
                    f"{', '.join(self.future)}; give them with future=... (--future FILE)"
                )
            values = future_values(table, self.future, stamps, source, "the data")
        return self._known(stamps, values, source)

    def _columns(self) -> list[int]:
        return [list(self.series_names).index(c) for c in self.future]

    def _known(self, index: pd.DatetimeIndex, values: np.ndarray, source: str | Path) -> np.ndarray:
        """The known-future input (t, f) of the rows ``index`` whose future covariates
        hold ``values`` (t, v) in original units."""
        scaled = self.scaler.select(self._columns()).transform(values)
        return known_inputs(self.calendar_index(index, source), self.calendar, scaled)

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
