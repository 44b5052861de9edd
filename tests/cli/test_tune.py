"""stanhop-tune end to end on debug=fast data: trials validate only, the best trial is the
one written out and reproduces its validation MSE, a study resumes without repeating
trials, hopeless trials are pruned, and mistakes are one line with exit status 2."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import optuna
import pandas as pd
import pytest
import yaml
from omegaconf import OmegaConf

from stanhop.cli import tune as tune_module
from stanhop.cli.tune import main, parse_duration
from stanhop.data import make_synthetic
from stanhop.data.datamodule import TimeSeriesDataModule
from stanhop.search import study as study_module
from stanhop.search.study import (
    CRASHED_ERROR,
    INTERRUPTED_ERROR,
    STUDY_NAME,
    storage,
)
from stanhop.training.compose import CONF_DIR, compose_config
from stanhop.training.overrides import (
    UsageError,
    check_command_line,
    config_groups,
    given_config_dir,
)
from stanhop.training.train import train

ROOT = Path(__file__).resolve().parents[2]
# Two epochs of four batches of a tiny network: a trial takes a few seconds on one thread.
OVERRIDES = ["debug=fast", "trainer.max_epochs=2", "hopfield=softmax"]
SPACE = {
    "model": "stanhop",
    "sampler": {"_target_": "optuna.samplers.TPESampler", "n_startup_trials": 2},
    "pruner": {"_target_": "optuna.pruners.NopPruner"},
    "params": {
        "optimizer.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
        "model.d_model": {"type": "categorical", "choices": [8, 16]},
        "model.d_ff": {"type": "multiple", "of": "model.d_model", "by": 2},
        "model.revin": {"type": "categorical", "choices": [True, False]},
    },
}


def write_space(path: Path, **changes) -> Path:
    path.write_text(yaml.safe_dump({**SPACE, **changes}, sort_keys=False))
    return path


def tune(root: Path, space: Path, *options: str, overrides=OVERRIDES) -> int:
    """Run the command in this process; its exit status (0 when it returns)."""
    argv = [*overrides, "--search", str(space), "--study-dir", str(root / "study")]
    argv += ["--experiment-root", str(root / "conf"), "--name", "tiny", "--threads", "1"]
    try:
        main([*argv, *options])
    except SystemExit as exit:
        return exit.code
    return 0


def copy_of_study(searched: dict, root: Path) -> Path:
    """``root`` holding a copy of the searched study, to extend without touching it."""
    shutil.copytree(searched["root"] / "study", root / "study")
    return root


def table(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / "study" / "trials.csv")


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Three trials of a tiny search, recording every stage the datamodules were set up
    for and every split they built."""
    root = tmp_path_factory.mktemp("tune")
    space = write_space(root / "space.yaml")
    stages, built = [], []
    real_setup = TimeSeriesDataModule.setup

    def recording_setup(self, stage=None):
        stages.append(stage)
        real_setup(self, stage)
        built.extend(self.datasets)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TimeSeriesDataModule, "setup", recording_setup)
        status = tune(root, space, "--trials", "3")
    return {"root": root, "space": space, "status": status, "stages": stages, "built": built}


def test_trials_never_build_the_test_split(searched) -> None:
    assert searched["status"] == 0
    assert set(searched["stages"]) == {"fit", "validate"}
    assert "test" not in searched["built"]
    assert {"train", "val"} <= set(searched["built"])
    for trial in (searched["root"] / "study" / "trials").iterdir():
        assert not (trial / "outliers.csv").exists()
        assert not (trial / "checkpoints").exists()


def test_the_best_trial_of_the_table_is_the_one_written_out(searched) -> None:
    trials = table(searched["root"])
    assert list(trials.trial) == [0, 1, 2]
    assert set(trials.state) == {"complete"}
    best = trials.loc[trials.val_mse.idxmin()]
    text = (searched["root"] / "conf" / "experiment" / "tuned" / "tiny.yaml").read_text()
    written = yaml.safe_load(text)
    assert written["optimizer"]["lr"] == best["param:optimizer.lr"]
    assert written["model"]["d_model"] == best["param:model.d_model"]
    assert written["model"]["d_ff"] == 2 * best["param:model.d_model"]
    assert written["model"]["revin"] == best["param:model.revin"]
    assert written["seed"] == best.seed
    assert f"Trial {best.trial}: validation MSE {best.val_mse:.6g}" in text


@pytest.mark.slow  # a run or command end to end: seconds each
def test_the_written_experiment_composes_and_reproduces_the_trials_validation_mse(
    searched, tmp_path: Path
) -> None:
    root = searched["root"]
    trials = table(root)
    best = trials.loc[trials.val_mse.idxmin()]
    cfg = compose_config(
        "experiment=tuned/tiny",
        f"paths.output_dir={tmp_path / 'run'}",
        "logger=none",
        config_dir=root / "conf",
    )
    trial_cfg = yaml.safe_load(
        (root / "study" / "trials" / f"{best.trial:04d}" / "config.yaml").read_text()
    )
    assert OmegaConf.to_container(cfg.model, resolve=True) == trial_cfg["model"]
    assert cfg.model.hopfield.normalizer == "softmax"
    assert cfg.data.in_len == trial_cfg["data"]["in_len"]
    assert cfg.trainer.max_epochs == trial_cfg["trainer"]["max_epochs"] == 2
    metrics = train(cfg)
    assert metrics["val/mse"] == pytest.approx(best.val_mse, rel=1e-6)
    assert "test/mse" in metrics  # the final run tests, once


@pytest.mark.slow  # a run or command end to end: seconds each
def test_a_resumed_study_adds_trials_without_repeating_finished_ones(
    searched, tmp_path: Path
) -> None:
    root = copy_of_study(searched, tmp_path)
    before = table(searched["root"])
    assert tune(root, searched["space"], "--trials", "5") == 0
    after = table(root)
    assert list(after.trial) == [0, 1, 2, 3, 4]
    pd.testing.assert_frame_equal(after.iloc[:3].reset_index(drop=True), before)
    old = {tuple(row) for row in before.filter(like="param:").itertuples(index=False)}
    new = {tuple(row) for row in after.iloc[3:].filter(like="param:").itertuples(index=False)}
    assert not old & new
    # the budget is the study's: the same command again runs nothing more
    assert tune(root, searched["space"], "--trials", "5") == 0
    assert len(table(root)) == 5


@pytest.mark.slow  # a run or command end to end: seconds each
def test_a_trial_cut_off_by_a_crash_is_run_again_with_its_settings(
    searched, tmp_path: Path, monkeypatch
) -> None:
    # Optuna's heartbeat finds the crashed trial; shortened, so the command waits seconds.
    monkeypatch.setattr(study_module, "HEARTBEAT_SECONDS", 1)
    monkeypatch.setattr(study_module, "GRACE_SECONDS", 2)
    root = copy_of_study(searched, tmp_path)
    study = optuna.load_study(study_name=STUDY_NAME, storage=storage(root / "study"))

    def crash(trial: optuna.Trial) -> float:
        trial.suggest_float("optimizer.lr", 1e-4, 1e-2, log=True)
        raise SystemExit  # past Optuna's handlers: trial 3 stays running in the storage

    with pytest.raises(SystemExit):
        study.optimize(crash, n_trials=1)
    assert tune(root, searched["space"], "--trials", "5") == 0
    trials = table(root)
    assert (trials.state[3], trials.error[3]) == ("fail", CRASHED_ERROR)
    # run again as trial 4, and the budget of 5 counts it instead of trial 3
    assert list(trials.state[4:]) == ["complete", "complete"]
    assert trials["param:optimizer.lr"][4] == trials["param:optimizer.lr"][3]


@pytest.mark.slow  # a run or command end to end: seconds each
def test_ctrl_c_keeps_the_table_says_how_to_go_on_and_the_cut_trial_runs_again(
    searched, tmp_path: Path, monkeypatch, capsys
) -> None:
    root = copy_of_study(searched, tmp_path)
    real_train = study_module.train

    def ctrl_c(*args, **kwargs) -> dict:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            sys.exit(1)  # Lightning's answer to Ctrl-C during fit

    monkeypatch.setattr(study_module, "train", ctrl_c)
    capsys.readouterr()
    assert tune(root, searched["space"], "--trials", "5") == 130
    study = root / "study"
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"interrupted: {study} keeps 3 trial(s), listed in {study / 'trials.csv'}; run the "
        "same command again to go on where it stopped (a trial cut off runs again with its "
        "settings)"
    )
    trials = table(root)
    assert list(trials.state[3:]) == ["fail", "waiting"]
    assert trials.error[3] == INTERRUPTED_ERROR
    monkeypatch.setattr(study_module, "train", real_train)
    assert tune(root, searched["space"], "--trials", "5") == 0
    trials = table(root)
    assert list(trials.state[3:]) == ["fail", "complete", "complete"]
    assert trials["param:optimizer.lr"][4] == trials["param:optimizer.lr"][3]


def test_ctrl_c_before_the_search_starts_is_one_line(tmp_path: Path, monkeypatch, capsys) -> None:
    def ctrl_c(args):
        raise KeyboardInterrupt  # e.g. while the data is read

    monkeypatch.setattr(tune_module, "prepare", ctrl_c)
    assert tune(tmp_path, write_space(tmp_path / "space.yaml")) == 130
    assert capsys.readouterr().err == (
        "interrupted before the search started; run the command again to start it\n"
    )
    assert not (tmp_path / "study").exists()


def test_a_hopeless_trial_is_recorded_as_pruned(tmp_path: Path) -> None:
    # a pruner for which every validation MSE (> 0) is hopeless: pruned after epoch 0
    space = write_space(
        tmp_path / "space.yaml",
        pruner={"_target_": "optuna.pruners.ThresholdPruner", "upper": 0.0},
    )
    assert tune(tmp_path, space, "--trials", "2") == 1  # nothing completed, nothing written
    trials = table(tmp_path)
    assert list(trials.state) == ["pruned", "pruned"]
    assert (trials.epochs_reported == 1).all()
    assert (trials.last_reported_val_mse > 0).all()
    assert trials.val_mse.isna().all()
    assert not (tmp_path / "conf" / "experiment" / "tuned" / "tiny.yaml").exists()
    assert (tmp_path / "study" / "search.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("text", "seconds"), [("45m", 2700), ("2h", 7200), ("1h30m", 5400), ("90s", 90), ("900", 900)]
)
def test_durations_read_as_people_write_them(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["model=dlinar"], "the model group has no option 'dlinar'; did you mean model=dlinear?"),
        (["--timeout", "45 minutes"], "--timeout 45 minutes: give a duration such as 45m"),
        (["--trials", "0"], "--trials 0: give at least 1"),
        (
            ["data.inlen=48"],
            "data.inlen: data has no setting 'inlen'; did you mean data.in_len=48?",
        ),
        (["model.d_model=16,32"], "stanhop-tune searches what its search file names"),
    ],
)
def test_mistakes_on_the_command_line_are_one_line_with_status_2(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"params": {"optimizer.lr": {"low": 1e-4, "high": 1e-2}}},
            "params.optimizer.lr: give a type",
        ),
        (
            {"params": {"model.d_modl": {"type": "int", "low": 8, "high": 16}}},
            "did you mean model.d_model=8?",
        ),
        (
            {"params": {"model.d_model": {"type": "int", "low": 16, "high": 8}}},
            "params.model.d_model:",
        ),
        ({"model": "dlinear"}, "is for model=dlinear, not model=stanhop"),
        (
            {"pruner": {"_target_": "os.system"}},
            "pruner must be a mapping with _target_: optuna.pruners",
        ),
        ({"samplr": {}}, "unknown key 'samplr'"),
        (
            {"sampler": {"_target_": "optuna.samplers.TPESamplr"}},
            "did you mean optuna.samplers.TPESampler?",
        ),
        (
            {"pruner": {"_target_": "optuna.pruners.MedianPruner", "n_startup": 5}},
            "pruner: optuna.pruners.MedianPruner refuses its options (",
        ),
    ],
)
def test_a_bad_search_file_is_one_line_with_status_2(changes, message, tmp_path, capsys) -> None:
    space = write_space(tmp_path / "space.yaml", **changes)
    assert tune(tmp_path, space) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err, err
    assert err.count("\n") == 1
    assert not (tmp_path / "study").exists()


def test_a_search_file_of_another_model_and_a_users_experiment_file_stop_the_command(
    tmp_path: Path, capsys
) -> None:
    assert tune(tmp_path, write_space(tmp_path / "s.yaml"), overrides=["model=dlinear"]) == 2
    assert "is for model=stanhop, not model=dlinear" in capsys.readouterr().err
    mine = tmp_path / "conf" / "experiment" / "tuned" / "tiny.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text("# @package _global_\nseed: 1\n")
    assert tune(tmp_path, write_space(tmp_path / "s.yaml")) == 2
    assert "exists and was not written by this study" in capsys.readouterr().err
    assert mine.read_text() == "# @package _global_\nseed: 1\n"


@pytest.mark.slow  # a run or command end to end: seconds each
def test_the_module_runs_as_a_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "stanhop.tune", "model=nosuchmodel"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: model=nosuchmodel: the model group has no option")


@pytest.mark.slow
def test_two_workers_share_one_study(tmp_path: Path) -> None:
    space = write_space(tmp_path / "space.yaml")
    assert tune(tmp_path, space, "--trials", "4", "--workers", "2") == 0
    trials = table(tmp_path)
    assert sorted(trials.trial) == [0, 1, 2, 3]
    assert set(trials.state) == {"complete"}
    params = {tuple(row) for row in trials.filter(like="param:").itertuples(index=False)}
    assert len(params) == 4


def test_the_training_command_accepts_an_experiment_in_a_subfolder(tmp_path: Path) -> None:
    tuned = tmp_path / "experiment" / "tuned"
    tuned.mkdir(parents=True)
    (tmp_path / "experiment" / "mine.yaml").write_text("# @package _global_\n")
    (tuned / "best.yaml").write_text("# @package _global_\n")
    assert config_groups(tmp_path)["experiment"] == ["mine", "tuned/best"]
    check_command_line(["experiment=tuned/best"], tmp_path)
    with pytest.raises(UsageError, match="did you mean experiment=tuned/best"):
        check_command_line(["experiment=tuned/bets"], tmp_path)


def test_a_users_csv_is_tuned_under_a_name_of_its_file(tmp_path: Path, monkeypatch, capsys) -> None:
    csv = tmp_path / "my sales.csv"
    make_synthetic(n_series=2, n_steps=24 * 30, seed=3).to_csv(csv)
    space = tmp_path / "dlinear.yaml"
    space.write_text(
        yaml.safe_dump(
            {
                "model": "dlinear",
                "params": {"optimizer.lr": {"type": "float", "low": 1e-3, "high": 1e-2}},
            }
        )
    )
    monkeypatch.chdir(tmp_path)  # the default study folder is outputs/tune/NAME
    argv = ["debug=fast", "data=csv", f"data.path={csv}", "model=dlinear", "--search", str(space)]
    main([*argv, "--trials", "1", "--threads", "1"])
    study = tmp_path / "outputs" / "tune" / "dlinear_my_sales_h12"
    trials = pd.read_csv(study / "trials.csv")
    assert list(trials.state) == ["complete"]
    # the experiment file goes into the study folder, never into the installed package
    written = yaml.safe_load(
        (study / "conf/experiment/tuned/dlinear_my_sales_h12.yaml").read_text()
    )
    assert written["data"]["path"] == str(csv)
    assert {"override /data": "csv"} in written["defaults"]
    assert not (CONF_DIR / "experiment/tuned/dlinear_my_sales_h12.yaml").exists()
    # the printed command, pasted where the search ran, composes the tuned settings
    command = capsys.readouterr().out.splitlines()[-1]
    assert command == (
        "train and test it: stanhop-train --config-dir outputs/tune/dlinear_my_sales_h12/conf "
        "experiment=tuned/dlinear_my_sales_h12"
    )
    cfg = compose_config(
        "experiment=tuned/dlinear_my_sales_h12",
        "paths.output_dir=unused",
        config_dir=given_config_dir(shlex.split(command.split(": ", 1)[1])[1:]),
    )
    assert cfg.optimizer.lr == trials["param:optimizer.lr"].iloc[0]


@pytest.mark.slow  # a run or command end to end: seconds each
def test_confirmed_trials_are_chosen_by_their_mean_over_seeds(searched, tmp_path: Path) -> None:
    root = copy_of_study(searched, tmp_path)
    options = ("--trials", "3", "--confirm", "2", "--confirm-seeds", "1")
    assert tune(root, searched["space"], *options) == 0
    trials = table(root)
    confirmed = trials[trials.confirmed_seeds.notna()]
    # the two trials of lowest one-seed MSE, each trained again with its seed + 1
    assert set(confirmed.trial) == set(trials.nsmallest(2, "val_mse").trial)
    assert list(confirmed.confirmed_seeds) == list(confirmed.seed + 1)
    for row in confirmed.itertuples():
        folder = root / "study" / "trials" / f"{row.trial:04d}-seed{row.seed + 1}"
        assert not (folder / "checkpoints").exists()
        # an independent run of the trial's settings with that seed gives the same MSE
        trial_cfg = yaml.safe_load(
            (root / "study" / "trials" / f"{row.trial:04d}" / "config.yaml").read_text()
        )
        cfg = compose_config(
            *OVERRIDES,
            "logger=none",
            f"optimizer.lr={trial_cfg['optimizer']['lr']}",
            f"model.d_model={trial_cfg['model']['d_model']}",
            f"model.d_ff={trial_cfg['model']['d_ff']}",
            f"model.revin={trial_cfg['model']['revin']}",
            f"seed={row.seed + 1}",
            f"paths.output_dir={tmp_path / f'again{row.trial}'}",
        )
        again = train(cfg, test=False)["val/mse"]
        assert row.mean_val_mse == pytest.approx((row.val_mse + again) / 2, rel=1e-6)
    # the written experiment is the confirmed trial of lowest mean, with the trial's seed
    best = confirmed.loc[confirmed.mean_val_mse.idxmin()]
    text = (root / "conf" / "experiment" / "tuned" / "tiny.yaml").read_text()
    assert yaml.safe_load(text)["seed"] == best.seed
    assert f"Trial {best.trial}: validation MSE {best.val_mse:.6g} (best epoch); mean " in text
    assert f"mean {best.mean_val_mse:.6g} with seeds {best.seed + 1} too" in text
    # the same command again trains nothing: the confirmations are stored in the study
    folders = sorted(p.name for p in (root / "study" / "trials").iterdir())
    assert tune(root, searched["space"], *options) == 0
    assert sorted(p.name for p in (root / "study" / "trials").iterdir()) == folders
    pd.testing.assert_frame_equal(table(root), trials)


def test_a_negative_confirm_is_one_line_with_status_2(capsys) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["debug=fast", "--confirm", "-1"])
    assert exit.value.code == 2
    assert capsys.readouterr().err.strip() == "error: --confirm -1: give 0 (none) or more"
