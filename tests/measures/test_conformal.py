"""Split-conformal intervals: the finite-sample quantile by hand, coverage on noise of
known distribution, and the calibration a training run stores and reports."""

from __future__ import annotations

import json
from statistics import NormalDist

import numpy as np
import pytest
import torch

from stanhop.data import from_csv
from stanhop.files.checkpoint import INTERVALS_KEY, load_checkpoint
from stanhop.forecast import Forecaster
from stanhop.measures.conformal import (
    Calibration,
    calibrate,
    conformal_quantile,
    conformal_rank,
    coverage_counts,
    model_errors,
)


def test_conformal_quantile_by_hand() -> None:
    scores = np.array([0.5, 0.1, 0.9, 0.3])  # sorted: 0.1 0.3 0.5 0.9, n = 4
    # 50 %: k = ceil(5 · 0.5) = 3 → 0.5 (the plain median would be 0.4)
    assert conformal_quantile(scores, 50) == 0.5
    # 60 %: k = ceil(5 · 0.6) = 3 → 0.5;  61 %: k = ceil(3.05) = 4 → 0.9
    assert conformal_quantile(scores, 60) == 0.5
    assert conformal_quantile(scores, 61) == 0.9
    # 80 %: k = ceil(4.0) = 4 → 0.9, the largest; 81 %: k = 5 > n → unbounded
    assert conformal_quantile(scores, 80) == 0.9
    assert conformal_quantile(scores, 81) == np.inf


def test_rank_is_exact_where_the_product_is_whole() -> None:
    # (19 + 1) · 0.95 is 19 in exact arithmetic (19.000000000000004 in floats).
    assert conformal_rank(19, 95) == 19
    assert conformal_rank(99, 99) == 99
    assert conformal_rank(98, 99) == 99  # 98 windows cannot bound a 99 % interval


def test_each_step_and_series_gets_its_own_quantile() -> None:
    errors = np.zeros((4, 2, 3))
    errors[:, 1, 2] = [4.0, 1.0, 3.0, 2.0]
    calibration = calibrate(errors, [50, 80])
    np.testing.assert_array_equal(calibration.half_width(50)[1], [0.0, 0.0, 3.0])
    np.testing.assert_array_equal(calibration.half_width(80)[1], [0.0, 0.0, 4.0])
    assert calibration.half_width(80)[0].tolist() == [0.0, 0.0, 0.0]


def test_unbounded_and_unknown_levels_are_refused() -> None:
    calibration = calibrate(np.ones((10, 1, 1)), [80, 95])  # 95 % needs 19 windows
    assert calibration.bounded_levels() == [80.0]
    with pytest.raises(ValueError, match="needs at least 19 calibration windows, there were 10"):
        calibration.half_width(95)
    with pytest.raises(KeyError, match="level 70 is not calibrated"):
        calibration.half_width(70)


def test_calibration_survives_a_checkpoint_round_trip(tmp_path) -> None:
    calibration = calibrate(np.random.default_rng(0).random((50, 3, 2)), [80, 95])
    torch.save(calibration.to_dict(), tmp_path / "c.pt")
    back = Calibration.from_dict(torch.load(tmp_path / "c.pt", weights_only=True))
    assert back.levels == calibration.levels and back.n_windows == 50
    np.testing.assert_allclose(back.radius, calibration.radius, rtol=1e-7)


def test_flat_windows_are_floored_and_calibrated_apart_by_hand() -> None:
    # 4 windows, 1 step, 2 series; floor 0.1. Series 0: windows 0 and 1 flat (scale 0.003).
    errors = np.array([[[0.0, 1.0]], [[0.5, 2.0]], [[0.2, 3.0]], [[0.4, 4.0]]])
    scales = np.array([[0.003, 0.5], [0.003, 0.5], [0.4, 0.5], [0.2, 0.5]])
    calibration = calibrate(errors, [50, 60], scales, floor=0.1)
    # series 0, flat: 0/0.1, 0.5/0.1 = 0, 5; n = 2, 50 %: k = ceil(1.5) = 2 → 5
    # series 0, not flat: 0.2/0.4, 0.4/0.2 = 0.5, 2; 50 % → the 2nd, 2
    # series 1, not flat: 2, 4, 6, 8; 50 %: k = ceil(2.5) = 3 → 6; its flat group is
    # empty, so it takes all four windows: 6 too
    np.testing.assert_allclose(calibration.flat_radius[0, 0], [5.0, 6.0])
    np.testing.assert_allclose(calibration.radius[0, 0], [2.0, 6.0])
    # 60 % of 2 windows: k = ceil(1.8) = 2 → series 0 as at 50 %; series 1: k = ceil(3) = 3
    np.testing.assert_allclose(calibration.radius[1, 0], [2.0, 6.0])
    # A flat window's band is the flat radius times the floor, the others' their scale's.
    scale = torch.tensor([[[0.001, 0.002]], [[0.3, 0.5]]], dtype=torch.float64)
    np.testing.assert_allclose(
        calibration.scaled(50, scale)[:, 0].numpy(), [[5.0 * 0.1, 6.0 * 0.1], [2.0 * 0.3, 3.0]]
    )


def test_a_calibration_from_before_the_floor_gets_the_default_floor() -> None:
    calibration = calibrate(np.ones((10, 1, 2)), [80], np.full((10, 2), 0.5))
    state = calibration.to_dict()
    del state["floor"], state["flat_radius"]
    old = Calibration.from_dict(state)
    scale = torch.tensor([[[0.003, 0.5]]])
    # radius 1/0.5 = 2; the flat window gets 2 · 0.02, not 2 · 0.003
    np.testing.assert_allclose(old.scaled(80, scale)[0, 0].numpy(), [0.04, 1.0], rtol=1e-6)


class ZeroForecast(torch.nn.Module):
    """The best forecast of zero-mean noise: 0 for every step and series."""

    def __init__(self, out_len: int) -> None:
        super().__init__()
        self.out_len = out_len

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: (b, in_len, c) → zeros (b, out_len, c)."""
        return x.new_zeros(x.shape[0], self.out_len, x.shape[2])


@pytest.mark.parametrize("level", [80, 95])
def test_coverage_on_gaussian_noise_is_the_nominal_level(level) -> None:
    """Windows of iid N(0, σ²) series forecast by their mean: calibrated on 2000 windows,
    the intervals hold the level on 20 000 fresh windows to within 0.015 (the spread of a
    quantile estimated from 2000 draws is about 0.009 per step and series; averaged over
    the 12 of them, far less); their half-widths are σ·z to within 8 % each (a 95 %
    quantile of 2000 draws has a relative spread of about 2 %) and 3 % on average."""
    rng = np.random.default_rng(7)
    sigma, in_len, out_len, c = 1.7, 8, 4, 3
    model = ZeroForecast(out_len)

    def windows(n: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        noise = rng.normal(0.0, sigma, size=(n, in_len + out_len, c)).astype(np.float32)
        x, y = torch.from_numpy(noise[:, :in_len]), torch.from_numpy(noise[:, in_len:])
        return list(zip(x.split(500), y.split(500), strict=True))

    errors, _ = model_errors(model, windows(2000), torch.device("cpu"))
    radius = torch.from_numpy(calibrate(errors, [level]).half_width(level)).float()
    inside = total = 0
    for x, y in windows(20000):
        counts = coverage_counts(y, model(x), radius)
        inside, total = inside + counts[0], total + counts[1]
    assert abs(inside / total - level / 100) < 0.015
    z = NormalDist().inv_cdf(0.5 + level / 200)
    np.testing.assert_allclose(radius.numpy(), sigma * z, rtol=0.08)
    assert float(radius.mean()) == pytest.approx(sigma * z, rel=0.03)


def window_std(x: torch.Tensor) -> np.ndarray:
    """RevIN's scale of one window (in_len, c): its population std, eps 1e-5 on the
    variance, as (1, c)."""
    return np.sqrt(x.numpy().astype(np.float64).var(axis=0, keepdims=True) + 1e-5)


def test_training_stores_the_calibration_of_its_best_weights(synthetic_run) -> None:
    """The stored half-widths are the conformal quantiles of the best checkpoint's errors
    on every validation window, each divided by the window's RevIN standard deviation, and
    the logged widths are their means over the test windows, scaled back by theirs."""
    checkpoint = load_checkpoint(synthetic_run.ckpt)
    stored = Calibration.from_dict(checkpoint[INTERVALS_KEY])
    forecaster = Forecaster.load(synthetic_run.ckpt)
    datamodule = from_csv(synthetic_run.csv, forecaster.in_len, forecaster.out_len)
    datamodule.setup()
    # Independently of the training code: every validation window, one at a time.
    val = datamodule.datasets["val"]
    errors = np.stack(
        [
            (forecaster.model(x[None])[0] - y).abs().detach().numpy() / window_std(x)
            for x, y in (val[i] for i in range(len(val)))
        ]
    )
    assert stored.per_window and stored.n_windows == len(val)
    for level in (50, 80, 90):
        k = int(np.ceil((len(val) + 1) * level / 100))
        expected = np.sort(errors, axis=0)[k - 1]
        np.testing.assert_allclose(stored.half_width(level), expected, rtol=1e-5, atol=1e-6)

    metrics = json.loads((synthetic_run.ckpt.parents[1] / "metrics.json").read_text())
    for level in stored.bounded_levels():
        name = f"{level:g}"
        assert 0.0 <= metrics[f"test/coverage_{name}"] <= 1.0
        test = datamodule.datasets["test"]
        scales = np.stack([window_std(test[i][0]) for i in range(len(test))])  # (n, 1, c)
        width = 2 * (stored.half_width(level) * scales).mean()
        assert metrics[f"test/width_{name}"] == pytest.approx(width, rel=1e-5)
    # Coverage grows with the level, as nested intervals must.
    coverages = [metrics[f"test/coverage_{lv:g}"] for lv in stored.bounded_levels()]
    assert coverages == sorted(coverages)
