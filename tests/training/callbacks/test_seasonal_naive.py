"""The seasonal-naive figures of a training run, and the line that compares the model
with them."""

from __future__ import annotations

import json

import numpy as np

from stanhop.data import from_csv
from stanhop.training.callbacks.seasonal_naive import verdict


def test_training_scores_seasonal_naive_on_its_own_test_windows(synthetic_run) -> None:
    """debug=fast tests on 2 batches of 128 windows (data=csv's eval_batch_size; the
    synthetic test split has fewer): recomputed here with numpy, season 24 (hourly)."""
    datamodule = from_csv(synthetic_run.csv, in_len=48, out_len=12)
    datamodule.setup()
    test = datamodule.datasets["test"]
    errors = []
    for i in range(min(len(test), 2 * 128)):
        x, y = (t.numpy().astype(np.float64) for t in test[i])
        naive = np.concatenate([x[-24:], x[-24:]])[:12]  # the last day, repeated
        errors.append(naive - y)
    errors = np.stack(errors)
    metrics = json.loads((synthetic_run.ckpt.parents[1] / "metrics.json").read_text())
    assert abs(metrics["test/seasonal_naive_mse"] - (errors**2).mean()) < 1e-6
    assert abs(metrics["test/seasonal_naive_mae"] - np.abs(errors).mean()) < 1e-6


def test_the_verdict_says_whether_the_model_beat_seasonal_naive() -> None:
    better = verdict({"test/mse": 0.3, "test/seasonal_naive_mse": 0.6})
    assert better.startswith("test/mse 0.3 beats") and "(50% lower)" in better
    worse = verdict({"test/mse": 0.7, "test/seasonal_naive_mse": 0.6})
    assert worse.startswith("warning: test/mse 0.7 does not beat")
    assert verdict({"test/mse": 0.7}) is None
