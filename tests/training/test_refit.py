"""A final fit (``data.split`` with test: 0) and a refit on every row (``refit_from``):
the first trains, validates and calibrates without ever building test windows; the second
trains on every row for the validated run's epochs at its learning rates and keeps its
interval calibration."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from stanhop.data import make_synthetic
from stanhop.data.datamodule import TimeSeriesDataModule
from stanhop.files.checkpoint import INTERVALS_KEY, load_checkpoint
from stanhop.forecast import Forecaster
from stanhop.training.refit import ReplayedLR
from stanhop.training.train import train

TINY = ("debug=fast", "logger=none", "threads=1", "data.source.n_steps=1200")
FINAL = "data.split={train: 0.8, val: 0.2, test: 0}"


def test_replayed_rates_follow_the_list_and_hold_the_last() -> None:
    rates = [1e-3, 1e-3, 5e-4, 2.5e-4]
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, ReplayedLR(rates, 1e-3))
    seen = []
    for _ in range(6):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert seen == pytest.approx([*rates, 2.5e-4, 2.5e-4])


@pytest.fixture(scope="module")
def validated(tmp_path_factory: pytest.TempPathFactory, composer) -> dict:
    """A final fit of three epochs whose plateau schedule halves the rate every epoch,
    recording the splits its datamodule built."""
    root = tmp_path_factory.mktemp("final")
    built: list[str] = []
    real_setup = TimeSeriesDataModule.setup

    def recording_setup(self, stage=None):
        real_setup(self, stage)
        built.extend(self.datasets)

    overrides = (*TINY, FINAL, "trainer.max_epochs=3", "scheduler.patience=0")
    overrides += ("+scheduler.threshold=10", "callbacks.early_stopping=null")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TimeSeriesDataModule, "setup", recording_setup)
        metrics = train(composer(root / "run", root / "data", *overrides))
    return {"root": root, "run": root / "run", "metrics": metrics, "built": built}


def test_a_final_fit_never_builds_test_windows_and_still_forecasts(validated) -> None:
    assert "test" not in validated["built"]
    assert {"train", "val"} <= set(validated["built"])
    assert not [key for key in validated["metrics"] if key.startswith("test/")]
    assert "val/mse" in validated["metrics"]
    checkpoint = load_checkpoint(validated["run"] / "checkpoints" / "best.ckpt")
    assert checkpoint[INTERVALS_KEY] is not None  # calibrated on the validation rows
    # a scheduler that halves every epoch (threshold 10: no epoch counts as better)
    assert checkpoint["lr_by_epoch"] == pytest.approx(
        [1e-3, 5e-4, 2.5e-4][: checkpoint["epoch"] + 1]
    )


def test_a_refit_trains_every_row_for_the_validated_epochs_at_their_rates(
    validated, composer
) -> None:
    best = load_checkpoint(validated["run"] / "checkpoints" / "best.ckpt")
    out = validated["root"] / "refit"
    seen: list[dict] = []
    real_setup = TimeSeriesDataModule.setup

    def recording_setup(self, stage=None):
        real_setup(self, stage)
        seen.append(dict(self.bounds))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TimeSeriesDataModule, "setup", recording_setup)
        metrics = train(composer(out, out / "data", *TINY, f"refit_from={validated['run']}"))
    assert seen[-1] == {"train": (0, 1200)}  # every row trains
    refit = load_checkpoint(out / "checkpoints" / "best.ckpt")
    assert refit["epoch"] + 1 == best["epoch"] + 1 == metrics["train/epochs"]
    assert refit["lr_by_epoch"] == pytest.approx(best["lr_by_epoch"])
    torch.testing.assert_close(refit[INTERVALS_KEY], best[INTERVALS_KEY])
    assert set(metrics) == {"train/loss", "train/epochs", "train/fit_seconds"} | (
        {"train/data_wait_share"} & set(metrics)
    )
    forecast = Forecaster.load(out).predict(make_synthetic(n_steps=1200), intervals=(80,))
    assert len(forecast) == 12 and forecast.notna().all().all()


def test_a_refit_of_another_model_is_refused_in_one_line(validated, composer, tmp_path) -> None:
    cfg = composer(tmp_path, tmp_path / "data", *TINY, "model.d_model=8")
    cfg.refit_from = str(validated["run"])
    with pytest.raises(ValueError, match=r"^refit_from=.*: the refit's model differ") as err:
        train(cfg)
    assert "\n" not in str(err.value)


def test_a_refit_from_a_folder_without_a_run_is_one_line(composer, tmp_path: Path) -> None:
    cfg = composer(tmp_path / "run", tmp_path / "data", *TINY, f"refit_from={tmp_path}")
    with pytest.raises(ValueError) as err:
        train(cfg)
    assert "\n" not in str(err.value)
