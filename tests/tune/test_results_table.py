"""The trials table keeps each setting's type when a trial has no settings yet."""

from __future__ import annotations

from pathlib import Path

import optuna
import pandas as pd

from stanhop.cli.tune_results import trials_table, write_table


def test_a_queued_trial_leaves_integer_settings_integers(tmp_path: Path) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study()
    dists = {
        "data.in_len": optuna.distributions.CategoricalDistribution([48, 168]),
        "model.revin": optuna.distributions.CategoricalDistribution([True, False]),
    }
    trial = study.ask(dists)
    study.tell(trial, 0.25)
    study.enqueue_trial({"data.in_len": 48, "model.revin": False})  # waiting: no params yet
    path = tmp_path / "trials.csv"
    write_table(trials_table(study), path)
    row = path.read_text().splitlines()[1]
    assert f",{trial.params['data.in_len']}," in row and ".0," not in row
    back = pd.read_csv(path)
    assert back["state"].tolist() == ["complete", "waiting"]
    assert back["param:data.in_len"].iloc[0] == trial.params["data.in_len"]
    assert back["val_mse"].iloc[0] == 0.25 and pd.isna(back["val_mse"].iloc[1])
