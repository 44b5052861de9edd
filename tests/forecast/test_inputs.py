"""The known-future input a forecast builds is the one training built: the same calendar
features and standardised future covariates, row for row, from the one builder."""

from __future__ import annotations

import numpy as np
import pytest

from stanhop.data import DataError, SyntheticSource, TimeSeriesDataModule
from stanhop.forecast.inputs import ModelInputs


@pytest.fixture(scope="module")
def trained() -> tuple[TimeSeriesDataModule, ModelInputs]:
    source = SyntheticSource(n_series=3, n_steps=500, seed=1)
    dm = TimeSeriesDataModule(
        source, 24, 6, targets=["s0"], calendar=["hour", "dayofweek"], future=["s2"]
    )
    dm.setup()
    inputs = ModelInputs(dm.scaler, dm.series_names, dm.calendar, dm.future, dm.timezone)
    return dm, inputs


def test_a_history_gets_the_known_inputs_training_built(trained) -> None:
    dm, inputs = trained
    frame = SyntheticSource(n_series=3, n_steps=500, seed=1).load()
    values, known = inputs.of_history(frame, "f.csv")
    np.testing.assert_array_equal(known.numpy(), dm._known.astype(np.float32))
    assert known.shape == (500, dm.n_future)
    np.testing.assert_array_equal(values.numpy(), dm._scaled)


def test_a_horizon_gets_the_rows_of_the_same_stamps(trained) -> None:
    dm, inputs = trained
    frame = SyntheticSource(n_series=3, n_steps=500, seed=1).load()
    stamps = frame.index[100:106]
    ahead = inputs.of_horizon(stamps, frame[["s2"]], "f.csv")
    np.testing.assert_allclose(ahead, dm._known[100:106], rtol=1e-6, atol=1e-6)


def test_a_zone_on_one_side_only_is_a_one_line_error(trained) -> None:
    inputs = trained[1]
    index = SyntheticSource(n_series=3, n_steps=10, seed=1).load().index.tz_localize("UTC")
    with pytest.raises(DataError, match=r"^f\.csv: the timestamps are in UTC, but the model"):
        inputs.calendar_index(index, "f.csv")
