"""bench/accuracy.py: DLinear is chosen on validation, the comparison is the ratio of the
means, and a user's CSV runs end to end."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import accuracy
import pytest
from accuracy import (
    CONVERGENCE,
    DATASETS,
    QUICK,
    TUNED,
    Budget,
    best_restarts,
    comparison_lines,
    compose_cfg,
    load_previous,
    parse_args,
    pick_dlinear,
    run_overrides,
    save,
    summarise,
)
from omegaconf import OmegaConf

from stanhop.data import make_synthetic

ROOT = Path(__file__).resolve().parents[2]


def run(model: str, seed: int, val: float, test: float) -> dict:
    return {
        "data": "d",
        "horizon": 24,
        "model": model,
        "seed": seed,
        "val/mse": val,
        "test/mse": test,
        "test/mae": test / 2,
        "train/epochs": 3.0,
        "wall_s": 10.0,
        "fit_s": 9.0,
        "stopped_by": "patience",
    }


RUNS = [
    run("outeffhop", 1, 0.30, 0.40),
    run("outeffhop", 2, 0.32, 0.44),
    # lower validation MSE, higher test MSE: validation decides
    run("dlinear", 1, 0.20, 0.50),
    run("dlinear", 2, 0.22, 0.52),
    run("dlinear+revin", 1, 0.25, 0.30),
    run("dlinear+revin", 2, 0.27, 0.34),
]


def test_dlinear_is_chosen_by_mean_validation_mse_never_by_test() -> None:
    assert pick_dlinear(RUNS) == "dlinear"


def test_the_table_compares_outeffhop_with_the_chosen_dlinear_by_their_means() -> None:
    naive = {("d", 24): {"persistence": {"test/mse": 1.0, "test/mae": 0.8}}}
    table, comparisons = summarise(RUNS, naive)
    assert comparisons == [
        {
            "data": "d",
            "horizon": 24,
            "outeffhop": pytest.approx(0.42),
            "dlinear": pytest.approx(0.51),
            "dlinear_config": "dlinear",
        }
    ]
    assert "| d | 24 | dlinear (chosen on validation) | 0.5100 ± 0.0141 |" in table
    assert "| d | 24 | dlinear+revin (not chosen) |" in table
    assert "| d | 24 | persistence | 1.0000 | 0.8000 | – | – | – | – |" in table
    assert "| 3.0 | 10 | patience 2 | 2 |" in table
    lines = comparison_lines(comparisons)
    assert f"{0.42 / 0.51 - 1:+.1%}" in lines
    assert "below DLinear in 1 of 1" in lines
    assert statistics.mean([0.40, 0.44]) == pytest.approx(0.42)


@pytest.mark.slow  # a run or command end to end: seconds each
def small_csv_args(csv: Path, out: Path, *extra: str, seeds: tuple[str, ...] = ("1",)) -> list[str]:
    """bench/accuracy.py's arguments for one epoch of two batches on a small CSV."""
    setup = f"--csv {csv} --in-len 48 --seg-len 6 --period 24 --horizons 12 --split 0.6 0.2 0.2"
    return [
        *setup.split(),
        *("--seeds", *seeds, "--max-epochs", "1", "--batches", "2"),
        *("--models", "outeffhop", "dlinear", *extra, "--out", str(out)),
    ]


def test_a_users_csv_is_benchmarked_end_to_end(tmp_path: Path) -> None:
    csv = tmp_path / "mine.csv"
    make_synthetic(n_series=2, n_steps=24 * 30, seed=4).to_csv(csv)
    out = tmp_path / "out"
    cmd = [sys.executable, str(ROOT / "bench" / "accuracy.py"), *small_csv_args(csv, out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((out / "results.json").read_text())
    models = sorted(r["model"] for r in result["runs"])
    assert models == ["dlinear", "dlinear+revin", "outeffhop"]
    assert set(result["naive"]["mine.csv_h12"]) == {"persistence", "seasonal naive (24)"}
    assert "| mine.csv | 12 | outeffhop |" in done.stdout
    assert "OutEffHop below DLinear in" in done.stdout


def test_validation_only_runs_never_test_and_table_their_validation_mse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    csv = tmp_path / "mine.csv"
    make_synthetic(n_series=2, n_steps=24 * 30, seed=4).to_csv(csv)
    asked, real_train = [], accuracy.train

    def recorded(cfg, **kwargs):
        asked.append(kwargs)
        metrics = real_train(cfg, **kwargs)
        assert not any(key.startswith("test/") for key in metrics)
        return metrics

    monkeypatch.setattr(accuracy, "train", recorded)
    out = tmp_path / "out"
    accuracy.main(small_csv_args(csv, out, "--validation-only", seeds=("1", "2")))
    # outeffhop, dlinear and dlinear+revin, two seeds each
    assert asked == [{"test": False}] * 6
    result = json.loads((out / "results.json").read_text())
    assert result["settings"]["validation_only"] is True
    assert result["naive"] == {}
    vals = [r["val/mse"] for r in result["runs"] if r["model"] == "outeffhop"]
    printed = capsys.readouterr().out
    assert "| data | horizon | model | val MSE | val MAE |" in printed
    assert f"| mine.csv | 12 | outeffhop | {statistics.mean(vals):.4f} ± " in printed


def test_of_a_seeds_restarts_the_lowest_validation_mse_is_kept_with_all_their_wall_time() -> None:
    restarts = [
        run("outeffhop", 1, 0.30, 0.40) | {"restart": 0},
        # lower validation MSE, higher test MSE: validation decides
        run("outeffhop", 1, 0.25, 0.90) | {"restart": 1},
        run("outeffhop", 1, 0.35, 0.10) | {"restart": 2},
        run("outeffhop", 2, 0.32, 0.44) | {"restart": 0},
    ]
    kept = sorted(best_restarts(restarts), key=lambda r: r["seed"])
    assert [(r["seed"], r["restart"], r["test/mse"]) for r in kept] == [(1, 1, 0.90), (2, 0, 0.44)]
    assert [r["wall_s"] for r in kept] == [30.0, 10.0]
    assert best_restarts(RUNS) == RUNS  # one run per seed: itself
    with pytest.raises(SystemExit):
        parse_args(["--restarts", "0"])


def test_a_second_invocation_reuses_runs_of_the_same_settings_only(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    settings = {"max_epochs": 6, "batches": 100, "override": []}
    assert load_previous(path, settings) == []
    save(path, settings, RUNS, {}, [])
    assert load_previous(path, settings) == RUNS
    with pytest.raises(SystemExit, match="other settings"):
        load_previous(path, settings | {"batches": 50})


def test_the_default_budget_trains_to_convergence_and_quick_is_the_small_one() -> None:
    assert parse_args([]).budget == CONVERGENCE
    assert parse_args(["--quick"]).budget == QUICK
    assert QUICK.overrides() == [
        "trainer.max_epochs=4",
        "data.batch_size=32",
        "trainer.limit_train_batches=100",
        "++trainer.max_time=null",
    ]
    assert CONVERGENCE.overrides() == [
        "trainer.max_epochs=50",
        "data.batch_size=32",
        "trainer.limit_train_batches=null",
        "callbacks.early_stopping.patience=5",
        "++trainer.max_time='00:00:30:00'",
    ]
    mine = parse_args(["--max-time", "1h30m", "--patience", "2", "--batches", "7"]).budget
    assert mine == Budget(max_epochs=50, batches=7, patience=2, max_time=5400.0)
    with pytest.raises(SystemExit):
        parse_args(["--max-time", "soon"])


def test_what_stopped_a_run_is_read_from_its_epochs_and_fitting_time() -> None:
    budget = Budget(max_epochs=10, batches=None, patience=3, max_time=60.0)
    assert budget.stopped_by({"train/epochs": 6.0, "fit_s": 20.0}) == "patience"
    assert budget.stopped_by({"train/epochs": 10.0, "fit_s": 20.0}) == "epoch cap"
    assert budget.stopped_by({"train/epochs": 4.0, "fit_s": 60.5}) == "time cap"


def test_a_tuned_run_takes_the_tuned_settings_and_the_benchmarks_budget() -> None:
    """ILI-36 reuses ILI-24's tuned DLinear settings; the trial budget in the file is
    replaced by the benchmark's."""
    tuned = OmegaConf.load(TUNED / "dlinear_ili_h24.yaml")
    overrides = run_overrides(
        DATASETS["ili"], 36, "dlinear", 2, CONVERGENCE.overrides(), Path("out"), tuned=True
    )
    cfg = compose_cfg(overrides)
    assert cfg.model.name == "dlinear"
    assert (cfg.data.in_len, cfg.data.out_len) == (tuned.data.in_len, 36)
    assert cfg.optimizer.lr == tuned.optimizer.lr
    assert cfg.model.kernel_size == tuned.model.kernel_size
    assert cfg.trainer.max_epochs == 50
    assert cfg.trainer.limit_train_batches is None
    assert cfg.trainer.max_time == "00:00:30:00"
    assert cfg.callbacks.early_stopping.patience == 5
    assert cfg.seed == 2


def test_a_horizon_run_on_its_own_reuses_the_first_horizons_tuned_settings() -> None:
    """`--horizons 48` alone: ETTh1-48 trains the settings tuned at horizon 24."""
    tuned = OmegaConf.load(TUNED / "stanhop_etth1_h24.yaml")
    etth1_48 = replace(DATASETS["etth1"], horizons=(48,))
    overrides = run_overrides(etth1_48, 48, "outeffhop", 1, [], Path("out"), tuned=True)
    assert "experiment=tuned/stanhop_etth1_h24" in overrides
    cfg = compose_cfg(overrides)
    assert (cfg.data.in_len, cfg.data.out_len) == (tuned.data.in_len, 48)
    assert cfg.model.d_model == tuned.model.d_model


def test_a_dataset_without_tuned_settings_says_which_command_makes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(accuracy, "TUNED", tmp_path)
    with pytest.raises(SystemExit, match=r"run stanhop-tune data=wth data\.out_len=48"):
        run_overrides(DATASETS["wth"], 48, "outeffhop", 1, [], tmp_path, tuned=True)
