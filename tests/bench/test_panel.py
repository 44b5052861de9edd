"""bench/panel.py on a panel of two tiny generated datasets: a resumed panel repeats no
run, the table's relative MSE is that of the runs, and the leave-one-out choice of a
dataset never sees that dataset's validation or test figures."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import panel
import pytest
import yaml
from panel import (
    DLINEAR,
    MODEL,
    RunStore,
    choose,
    leave_one_out,
    mean_relative,
    panel_rows,
)

from stanhop.data import make_synthetic

NAMES = ("a", "b")


def write_panel(folder: Path) -> Path:
    """Two tiny hourly datasets in ``folder`` and the records of a panel of them."""
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for seed, name in enumerate(NAMES):
        make_synthetic(n_series=2, n_steps=24 * 20, seed=seed).to_csv(folder / f"{name}.csv")
        records.append(
            {
                "name": name,
                "split": {"train": 0.7, "val": 0.1, "test": 0.2},
                "in_len": 48,
                "out_len": 12,
                "nan_policy": "error",
                "period": 24,
            }
        )
    path = folder / "panel.yaml"
    path.write_text(yaml.safe_dump({"datasets": records}))
    return path


class CountingTrain:
    """``train`` itself, counting its calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.real = panel.train

    def __call__(self, cfg: Any, test: bool = True) -> dict[str, float]:
        self.calls += 1
        return self.real(cfg, test=test)


def run_main(argv: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        panel.main(argv)
    return out.getvalue()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[str], Path, str]]:
    """The panel trained once (one seed, debug=fast, one run at a time): its arguments,
    its results folder and what it printed."""
    root = tmp_path_factory.mktemp("panel")
    records = write_panel(root / "data")
    out = root / "out"
    argv = ["--panel", str(root / "data"), "--records", str(records), "--out", str(out)]
    argv += ["--seeds", "1", "--jobs", "1", "--every-run", "debug=fast"]
    with pytest.MonkeyPatch.context() as mp:
        counting = CountingTrain()
        mp.setattr(panel, "train", counting)
        printed = run_main(argv)
        assert counting.calls == 4  # model and DLinear on each dataset
    yield argv, out, printed


def test_a_resumed_panel_repeats_no_run(
    trained: tuple[list[str], Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    argv, out, printed = trained
    counting = CountingTrain()
    monkeypatch.setattr(panel, "train", counting)
    again = run_main(argv)
    assert counting.calls == 0
    # the same table, from the stored runs
    assert again.strip() == printed[printed.index("\nseeds [") :].strip()
    assert len((out / "runs.jsonl").read_text().splitlines()) == 4


def test_the_tables_relative_mse_is_that_of_the_runs(trained: tuple[list[str], Path, str]) -> None:
    _, out, printed = trained
    runs = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    by = {(r["dataset"], r["config"]): r for r in runs}
    rows = panel_rows(RunStore(out / "runs.jsonl"), NAMES, [1], "test")
    changes = []
    for row in rows:
        ours, theirs = by[(row["dataset"], MODEL)], by[(row["dataset"], DLINEAR)]
        change = ours["test/mse"] / theirs["test/mse"] - 1
        changes.append(change)
        assert row["relative mse"] == pytest.approx(change)
        assert row["naive mse"] == theirs["test/seasonal_naive_mse"]
        line = next(x for x in printed.splitlines() if x.startswith(f"| {row['dataset']} |"))
        assert line.endswith(f"| {change:+.1%} |")
        assert f"| {ours['test/mse']:.4f} |" in line
    mean = sum(changes) / len(changes)
    assert f"mean relative test MSE over the panel {mean:+.1%}" in printed
    summary = json.loads((out / "panel_test.json").read_text())
    assert summary["mean relative mse"] == pytest.approx(mean)
    assert summary["datasets"] == rows


def test_validation_only_never_tests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records = write_panel(tmp_path / "data")
    tested = []
    monkeypatch.setattr(panel, "train", lambda cfg, test: tested.append(test) or fake(cfg, test))
    argv = ["--panel", str(tmp_path / "data"), "--records", str(records)]
    argv += ["--out", str(tmp_path / "out"), "--seeds", "1", "--jobs", "1", "--validation-only"]
    printed = run_main(argv)
    assert tested == [False] * 4
    assert "mean relative val MSE over the panel" in printed


def test_candidates_on_validation_alone_table_each_against_dlinear(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = write_panel(tmp_path / "data")
    tested = []
    monkeypatch.setattr(panel, "train", lambda cfg, test: tested.append(test) or fake(cfg, test))
    argv = ["--panel", str(tmp_path / "data"), "--records", str(records)]
    argv += ["--out", str(tmp_path / "out"), "--seeds", "1", "--jobs", "1", "--validation-only"]
    argv += ["--candidates", *(f"{label}:{o}" for label, o in CANDIDATES.items())]
    printed = run_main(argv)
    assert tested == [False] * 6  # two candidates and DLinear on two datasets, none tested
    # c1 on a: 0.1 against DLinear's 1.0; c2 on b: 0.5 against 1.0
    assert "| a | 1.0000 | 0.1000 (-90.0%) | 1.1000 (+10.0%) |" in printed
    assert "| b | 1.0000 | 1.2000 (+20.0%) | 0.5000 (-50.0%) |" in printed
    assert "| mean relative | | -35.0% | -20.0% |" in printed
    saved = json.loads((tmp_path / "out" / "candidates_val.json").read_text())
    assert saved["validation"] == VAL


# Validation MSE by dataset and configuration: c1 is far better than DLinear on a and a
# little worse on b, c2 the other way round by less. Over both, c1 wins; a choice that
# leaves a out sees only b, where c2 wins.
VAL = {"a": {"c1": 0.1, "c2": 1.1, DLINEAR: 1.0}, "b": {"c1": 1.2, "c2": 0.5, DLINEAR: 1.0}}
CANDIDATES = {"c1": "model.d_model=16", "c2": "model.d_model=32"}


def config_of(cfg: Any) -> str:
    """The configuration of a composed run: DLinear, c2, or c1 for any other."""
    if cfg.model.name == "dlinear":
        return DLINEAR
    return "c2" if cfg.model.d_model == 32 else "c1"


def fake(cfg: Any, test: bool) -> dict[str, float]:
    """Metrics of a run without training it: VAL's validation MSE and a test MSE tied
    to it."""
    name, config = Path(cfg.data.path).stem, config_of(cfg)
    metrics = {"val/mse": VAL[name][config], "val/mae": 0.5, "train/epochs": 1.0}
    metrics["train/fit_seconds"] = 1.0
    if test:
        metrics |= {"test/mse": 2 * VAL[name][config], "test/mae": 1.0}
    return metrics


def test_choose_takes_the_lowest_mean_relative_validation_mse() -> None:
    assert mean_relative(VAL, "c1") == pytest.approx((-0.9 + 0.2) / 2)
    assert choose(VAL, ["c1", "c2"]) == "c1"
    assert choose({"b": VAL["b"]}, ["c1", "c2"]) == "c2"


def test_leave_one_out_chooses_on_the_other_datasets_alone() -> None:
    events: list[tuple[str, ...]] = []

    def validation_of(name: str) -> dict[str, float]:
        events.append(("validation", name))
        return VAL[name]

    def test_of(name: str, chosen: str) -> dict[str, float]:
        events.append(("test", name))
        return {"test/mse": 1.0}

    def chooser(seen: dict[str, dict[str, float]], candidates: list[str]) -> str:
        events.append(("choose", *seen))
        return choose(seen, candidates)

    folds = leave_one_out(list(NAMES), ["c1", "c2"], validation_of, test_of, chooser)
    assert [(f["held_out"], f["chosen"]) for f in folds] == [("a", "c2"), ("b", "c1")]
    # each fold reads the others' validation, chooses on them, then tests the one left out
    assert events == [
        ("validation", "b"),
        ("choose", "b"),
        ("test", "a"),
        ("validation", "a"),
        ("choose", "a"),
        ("test", "b"),
    ]


def test_the_leave_one_out_choice_never_reads_the_left_out_datasets_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = write_panel(tmp_path / "data")
    calls: list[tuple[str, str, bool]] = []
    choices: list[tuple[set[str], list[tuple[str, str, bool]]]] = []

    def train(cfg: Any, test: bool) -> dict[str, float]:
        calls.append((Path(cfg.data.path).stem, config_of(cfg), test))
        return fake(cfg, test)

    def chooser(seen: dict[str, dict[str, float]], candidates: list[str]) -> str:
        choices.append((set(seen), list(calls)))
        return choose(seen, candidates)

    monkeypatch.setattr(panel, "train", train)
    monkeypatch.setattr(panel, "choose", chooser)
    argv = ["--panel", str(tmp_path / "data"), "--records", str(records)]
    argv += ["--out", str(tmp_path / "out"), "--seeds", "1", "--jobs", "1", "--candidates"]
    argv += [f"{label}:{overrides}" for label, overrides in CANDIDATES.items()]
    printed = run_main(argv)
    # the two folds, then the choice on the whole panel
    assert [seen for seen, _ in choices] == [{"b"}, {"a"}, {"a", "b"}]
    for held, (seen, before) in zip(NAMES, choices[:2], strict=True):
        assert held not in seen
        # no test run of the left-out dataset before its choice
        assert not [c for c in before if c[0] == held and c[2]]
    # the left-out dataset's validation figures would have chosen otherwise
    assert "| a | c2 |" in printed and "| b | c1 |" in printed
    assert "chosen on the whole panel's validation: c1" in printed
    saved = json.loads((tmp_path / "out" / "leave_one_out.json").read_text())
    assert [(f["held_out"], f["chosen"]) for f in saved["folds"]] == [("a", "c2"), ("b", "c1")]
    # fold a tests c2 (2 x 1.1 against DLinear's 2 x 1.0), fold b c1 (2 x 1.2)
    assert saved["estimate"] == pytest.approx(((2.2 / 2.0 - 1) + (2.4 / 2.0 - 1)) / 2)
    tested = [c for c in calls if c[2]]
    assert sorted(tested) == sorted(
        [("a", "c2", True), ("a", DLINEAR, True), ("b", "c1", True), ("b", DLINEAR, True)]
    )


def test_a_results_folder_of_other_settings_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    records = write_panel(tmp_path / "data")
    monkeypatch.setattr(panel, "train", fake)
    argv = ["--panel", str(tmp_path / "data"), "--records", str(records)]
    argv += ["--out", str(tmp_path / "out"), "--seeds", "1", "--jobs", "1", "--override"]
    run_main([*argv, "model.d_model=16"])
    with pytest.raises(SystemExit) as exit_:
        run_main([*argv, "model.d_model=32"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "give another --out" in err and err.count("\n") == 1


def test_a_panel_folder_without_the_csvs_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = write_panel(tmp_path / "data")
    with pytest.raises(SystemExit) as exit_:
        panel.main(["--panel", str(tmp_path), "--records", str(records)])
    assert exit_.value.code == 2
    assert "no CSV of a, b; build the panel folder" in capsys.readouterr().err
