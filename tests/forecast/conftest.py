"""The synthetic run's forecaster and its forecast of the unchanged CSV, shared by the
forecast tests that compare variants against it."""

from __future__ import annotations

import pandas as pd
import pytest

from stanhop import Forecaster


@pytest.fixture(scope="module")
def synthetic(synthetic_run) -> Forecaster:
    return Forecaster.load(synthetic_run.ckpt)


@pytest.fixture(scope="module")
def reference(synthetic: Forecaster, synthetic_run) -> pd.DataFrame:
    """The forecast of the unchanged synthetic CSV, to compare variants against."""
    return synthetic.predict(synthetic_run.csv)
