"""Choosing the targets: the windows' y holds the target columns only, x every column;
wrong target names are one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
from hydra.utils import instantiate

from stanhop.data import DataError, SyntheticSource, TimeSeriesDataModule, WindowDataset
from stanhop.data.targets import check_targets, covariates_of, indices_of
from stanhop.training.compose import compose_config

NAMES = ["a", "b", "c"]


def test_target_indices_in_the_order_given() -> None:
    assert check_targets(NAMES, None, "f.csv") == NAMES
    assert check_targets(NAMES, "b", "f.csv") == ["b"]
    assert indices_of(NAMES, check_targets(NAMES, None, "f.csv")) is None
    assert indices_of(NAMES, ["a", "b", "c"]) is None  # all, in order
    assert indices_of(NAMES, check_targets(NAMES, ["c", "a"], "f.csv")) == [2, 0]
    assert indices_of(NAMES, ["b", "a", "c"]) == [1, 0, 2]
    assert covariates_of(NAMES, ["c", "a"]) == ["b"]


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        (
            ["x", "a"],
            "f.csv: data.targets names 'x', not a column of the data; the series "
            "columns are 'a', 'b', 'c'",
        ),
        (
            [],
            "f.csv: data.targets is empty; name at least one column to forecast, or leave "
            "data.targets unset to forecast every column",
        ),
        (["a", "a"], "f.csv: data.targets names 'a' twice; name it once"),
    ],
)
def test_wrong_targets_are_one_line_errors(targets, message) -> None:
    with pytest.raises(DataError) as err:
        check_targets(NAMES, targets, "f.csv")
    assert str(err.value) == message


def test_windows_hold_every_column_in_x_and_the_targets_in_y() -> None:
    values = np.arange(40 * 3, dtype=np.float32).reshape(40, 3)
    windows = WindowDataset(values, 6, 4, targets=[2, 0])
    x, y = windows[7]
    np.testing.assert_array_equal(x.numpy(), values[7:13])
    np.testing.assert_array_equal(y.numpy(), values[13:17][:, [2, 0]])


def test_the_datamodule_standardises_every_column_and_cuts_targets() -> None:
    source = SyntheticSource(n_series=4, n_steps=600, seed=3)
    dm = TimeSeriesDataModule(source, in_len=24, out_len=6, targets=["s3", "s1"])
    dm.setup()
    assert (dm.target_names, dm.target_indices) == (["s3", "s1"], [3, 1])
    assert dm.covariate_names == ["s0", "s2"]
    assert "(targets s3, s1; past covariates s0, s2)" in dm.summary()
    values = source.load().to_numpy()
    start, stop = dm.bounds["train"]
    train = values[start:stop]
    scaled = (values - train.mean(0)) / train.std(0)
    x, y = dm.datasets["val"][5]
    first = dm.bounds["val"][0] + 5
    np.testing.assert_allclose(x.numpy(), scaled[first : first + 24], rtol=1e-5, atol=1e-5)
    expected = scaled[first + 24 : first + 30][:, [3, 1]]
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-5, atol=1e-5)


def test_a_single_name_is_one_column_not_its_letters() -> None:
    # data.targets=s3 on the command line reaches the datamodule as the text "s3"
    cfg = compose_config("data=synthetic", "data.targets=s3", "data.future=s1")
    cfg.data.calendar = "hour"
    dm = instantiate(cfg.data)
    dm.setup("fit")
    assert (dm.target_names, dm.future, dm.calendar) == (["s3"], ["s1"], ["hour"])
