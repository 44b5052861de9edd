"""Scaler: numpy reference statistics, constant series, numpy and torch round trips."""

from __future__ import annotations

import json

import numpy as np
import torch
from torch.testing import assert_close

from stanhop.data import Scaler


def test_fit_matches_numpy_population_statistics() -> None:
    values = np.random.default_rng(0).normal(3.0, 2.0, size=(50, 4))
    scaler = Scaler.fit(values)
    np.testing.assert_allclose(scaler.mean, values.mean(axis=0))
    np.testing.assert_allclose(scaler.std, np.sqrt(((values - values.mean(0)) ** 2).mean(0)))


def test_constant_series_gets_std_one() -> None:
    values = np.column_stack([np.full(10, 7.25), np.arange(10.0)])
    scaler = Scaler.fit(values)
    assert scaler.std[0] == 1.0 and scaler.mean[0] == 7.25
    np.testing.assert_array_equal(scaler.transform(values)[:, 0], 0.0)


def test_numpy_round_trip_keeps_float32() -> None:
    values = np.random.default_rng(1).normal(size=(20, 3)) * [1, 10, 100] + [0, 5, -5]
    scaler = Scaler.fit(values)
    scaled = scaler.transform(values)
    np.testing.assert_allclose(scaled.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(scaled.std(axis=0), 1)
    x32 = values.astype(np.float32)
    assert scaler.transform(x32).dtype == np.float32
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(x32)), x32, rtol=1e-5)


def test_torch_broadcasts_on_the_last_axis() -> None:
    values = np.random.default_rng(2).normal(size=(30, 3)) * [2, 3, 4] + [1, 2, 3]
    scaler = Scaler.fit(values)
    batch = torch.tensor(values, dtype=torch.float32).reshape(5, 6, 3)  # (b, t, c)
    scaled = scaler.transform(batch)
    assert scaled.dtype == torch.float32 and scaled.shape == (5, 6, 3)
    expected = torch.tensor((values - values.mean(0)) / values.std(0), dtype=torch.float32)
    assert_close(scaled.reshape(30, 3), expected, rtol=1e-5, atol=1e-5)
    assert_close(scaler.inverse_transform(scaled), batch, rtol=1e-5, atol=1e-5)


def test_dict_round_trip_is_plain_json() -> None:
    scaler = Scaler.fit(np.array([[1.0, 2.0], [3.0, 6.0]]))
    state = json.loads(json.dumps(scaler.to_dict()))
    assert state == {"mean": [2.0, 4.0], "std": [1.0, 2.0]}
    again = Scaler.from_dict(state)
    np.testing.assert_array_equal(again.mean, scaler.mean)
    np.testing.assert_array_equal(again.std, scaler.std)
