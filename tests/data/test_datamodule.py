"""TimeSeriesDataModule end to end: synthetic data, a CSV file, and ETTh1 via the mirror."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from stanhop.data import (
    MIRROR_ENV,
    BenchmarkSource,
    DataError,
    DataWarning,
    Split,
    SyntheticSource,
    TimeSeriesDataModule,
    from_csv,
    make_synthetic,
)

N_STEPS, IN_LEN, OUT_LEN = 24 * 7 * 8, 48, 12


@pytest.fixture
def dm() -> TimeSeriesDataModule:
    module = TimeSeriesDataModule(
        SyntheticSource(n_series=3, n_steps=N_STEPS, seed=1),
        IN_LEN,
        OUT_LEN,
        batch_size=16,
        eval_batch_size=64,
    )
    module.prepare_data()
    module.setup()
    return module


def standardised(rows: np.ndarray, train: np.ndarray) -> np.ndarray:
    """The numpy reference: standardise with the training rows' mean and std (ddof=0)."""
    return (rows - train.mean(axis=0)) / train.std(axis=0)


def test_synthetic_metadata(dm) -> None:
    frame = make_synthetic(n_series=3, n_steps=N_STEPS, seed=1)
    n_train = int(N_STEPS * 0.7)
    assert dm.n_series == 3 and dm.series_names == ["s0", "s1", "s2"]
    assert dm.freq == "h"
    assert dm.bounds == Split(0.7, 0.1, 0.2).bounds(N_STEPS, IN_LEN)
    assert dm.last_train_timestamp == frame.index[n_train - 1].isoformat()
    np.testing.assert_allclose(dm.scaler.mean, frame.to_numpy()[:n_train].mean(axis=0))
    np.testing.assert_allclose(dm.scaler.std, frame.to_numpy()[:n_train].std(axis=0))


def test_windows_are_the_standardised_rows_of_each_split(dm) -> None:
    values = make_synthetic(n_series=3, n_steps=N_STEPS, seed=1).to_numpy()
    n_train = int(N_STEPS * 0.7)
    reference = standardised(values, values[:n_train]).astype(np.float32)
    n_test = int(N_STEPS * 0.2)
    n_val = N_STEPS - n_train - n_test
    assert len(dm.datasets["train"]) == n_train - IN_LEN - OUT_LEN + 1
    assert len(dm.datasets["val"]) == n_val - OUT_LEN + 1
    assert len(dm.datasets["test"]) == n_test - OUT_LEN + 1

    x, y = next(iter(dm.val_dataloader()))
    assert x.shape == (64, IN_LEN, 3) and y.shape == (64, OUT_LEN, 3)
    # the first validation target starts right after the last training row
    np.testing.assert_allclose(x[0], reference[n_train - IN_LEN : n_train], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(y[0], reference[n_train : n_train + OUT_LEN], rtol=1e-5, atol=1e-5)
    # the last test target ends at the last row
    *_, (_, y_last) = dm.test_dataloader()
    np.testing.assert_allclose(y_last[-1], reference[-OUT_LEN:], rtol=1e-5, atol=1e-5)


def test_loaders_batch_every_window_train_shuffled_eval_in_order(dm) -> None:
    torch.manual_seed(0)
    train = dm.train_dataloader()
    first = next(iter(train))[0]
    in_order = torch.stack([dm.datasets["train"][i][0] for i in range(16)])
    assert not torch.equal(first, in_order)
    assert sum(len(x) for x, _ in train) == len(dm.datasets["train"])  # drop_last=False
    val = list(dm.val_dataloader())
    assert sum(len(x) for x, _ in val) == len(dm.datasets["val"])
    torch.testing.assert_close(val[1][0][0], dm.datasets["val"][64][0])


def test_setup_runs_once(dm) -> None:
    datasets = dm.datasets
    dm.setup("fit")
    assert dm.datasets is datasets


def test_worker_settings_reach_the_loaders() -> None:
    module = TimeSeriesDataModule(SyntheticSource(n_steps=500), 24, 12, num_workers=2)
    module.setup()
    loader = module.train_dataloader()
    assert loader.num_workers == 2 and loader.persistent_workers
    assert module.val_dataloader().batch_size == 128  # eval_batch_size, as conf/data/ sets it
    module = TimeSeriesDataModule(SyntheticSource(n_steps=500), 24, 12, eval_batch_size=None)
    module.setup()
    assert module.val_dataloader().batch_size == 32  # None: batch_size


def test_split_override_from_a_plain_dict() -> None:
    module = TimeSeriesDataModule(
        SyntheticSource(n_steps=1000), 24, 12, split={"train": 600, "val": 200, "test": 100}
    )
    module.setup()
    assert module.bounds == {"train": (0, 600), "val": (576, 800), "test": (776, 900)}


def csv_file(tmp_path, n_rows: int):
    frame = make_synthetic(n_series=2, n_steps=n_rows, seed=5)
    path = tmp_path / "mine.csv"
    frame.to_csv(path)
    return path, frame


def test_from_csv_builds_a_csv_datamodule(tmp_path) -> None:
    path, frame = csv_file(tmp_path, 400)
    module = from_csv(path, in_len=24, out_len=6, split={"train": 0.5, "val": 0.2, "test": 0.3})
    module.setup()
    assert module.series_names == ["s0", "s1"]
    assert module.bounds == {"train": (0, 200), "val": (176, 280), "test": (256, 400)}
    np.testing.assert_allclose(module.scaler.mean, frame.to_numpy()[:200].mean(axis=0))


def test_a_split_too_short_for_the_windows_names_the_file(tmp_path) -> None:
    path, _ = csv_file(tmp_path, 400)
    module = from_csv(path, in_len=24, out_len=48)  # val: 400 - 280 - 80 = 40 rows + 24
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}: the val split has 64 rows"):
        module.setup()


def test_counts_beyond_the_rows_name_the_file(tmp_path) -> None:
    path, _ = csv_file(tmp_path, 400)
    module = from_csv(path, in_len=24, out_len=6, split={"train": 300, "val": 100, "test": 100})
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}: split .* needs 500 rows"):
        module.setup()


def test_etth1_through_the_mirror(shared_csv, tmp_path, monkeypatch) -> None:
    reference = shared_csv("ETTh1.csv")
    monkeypatch.setenv(MIRROR_ENV, str(reference.parent))
    module = TimeSeriesDataModule(BenchmarkSource("etth1", root=tmp_path), 96, 24)
    module.prepare_data()
    assert (tmp_path / "ETTh1.csv").is_file()
    module.setup()
    assert module.n_series == 7 and module.series_names[-1] == "OT" and module.freq == "h"
    assert len(module.datasets["train"]) == 8640 - 96 - 24 + 1
    assert len(module.datasets["val"]) == 2880 - 24 + 1
    assert len(module.datasets["test"]) == 2880 - 24 + 1
    # 8640 hours after 2016-07-01 00:00 is 2017-06-26 00:00, the first validation target
    assert module.last_train_timestamp == "2017-06-25T23:00:00"
    train = pd.read_csv(reference).iloc[:8640, 1:].to_numpy()
    np.testing.assert_allclose(module.scaler.mean, train.mean(axis=0))
    np.testing.assert_allclose(module.scaler.std, train.std(axis=0))


def test_a_series_constant_over_the_training_rows_is_named_in_a_warning(tmp_path) -> None:
    path, frame = csv_file(tmp_path, 400)
    frame["flat"] = 7.0
    frame.loc[frame.index[300:], "flat"] = 8.0  # varies later, but not in the training rows
    frame.to_csv(path)
    module = from_csv(path, in_len=24, out_len=6, split={"train": 0.5, "val": 0.2, "test": 0.3})
    with pytest.warns(DataWarning, match=r"series 'flat' constant over the training rows"):
        module.setup()
    assert module.scaler.std[2] == 1.0


def test_series_that_vary_give_no_constant_warning(tmp_path) -> None:
    path, _ = csv_file(tmp_path, 400)
    module = from_csv(path, in_len=24, out_len=6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        module.setup()


def test_a_stage_builds_only_the_splits_it_reads() -> None:
    module = TimeSeriesDataModule(SyntheticSource(n_series=2, n_steps=N_STEPS, seed=1), 48, 12)
    module.setup("fit")
    assert set(module.datasets) == {"train", "val"}
    module.val_dataloader()
    module.train_dataloader()
    assert "test" not in module.summary()
    assert set(module.datasets) == {"train", "val"}
    module.test_dataloader()
    assert set(module.datasets) == {"train", "val", "test"}
    whole = TimeSeriesDataModule(SyntheticSource(n_series=2, n_steps=N_STEPS, seed=1), 48, 12)
    whole.setup()
    for name in ("train", "val", "test"):
        assert torch.equal(whole.datasets[name].values, module.datasets[name].values)
