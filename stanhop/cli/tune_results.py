"""What a search leaves: the trials table (CSV), a plot of the search, and the best
trial's settings as a Hydra experiment file that ``python train.py experiment=...``
composes."""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import optuna
import pandas as pd
from hydra.core.override_parser.types import Override, OverrideType
from matplotlib.ticker import MaxNLocator
from omegaconf import OmegaConf
from optuna.trial import FrozenTrial, TrialState

from stanhop.files.atomic import atomic_open
from stanhop.search.study import CRASHED_ERROR, Search, confirmations, retried
from stanhop.training.overrides import UsageError, read_overrides, searched_groups

# Groups conf/train.yaml leaves empty (null): an experiment file cannot override them,
# so it includes the chosen option as a config of its own.
EMPTY_GROUPS = ("experiment", "debug")
# Settings of the machine a search ran on, not of the model: left out of the experiment.
NOT_SETTINGS = ("hydra", "paths")
# Hydra reads a config's package from the comment lines above any other line.
PACKAGE = "# @package _global_"
# The line after it in every experiment file a search writes, naming its study folder: a
# file without it is the user's and is never overwritten.
MARK = "# stanhop-tune: best trial of the study in "


def trials_table(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: number, state, validation MSE (of the best epoch; empty unless
    complete), the last validation MSE reported before pruning, epochs reached, fit
    seconds, seed, the seeds its settings were confirmed with and the mean validation MSE
    over all its seeds (empty where none), every searched setting and any error."""
    rows = []
    confirmed = confirmations(study)
    trials = study.get_trials(deepcopy=False)
    again = retried(trials)
    for trial in trials:
        reported = trial.intermediate_values
        scores = confirmed.get(trial.number, {})
        rows.append(
            {
                "trial": trial.number,
                "state": trial.state.name.lower(),
                "val_mse": trial.value if trial.state == TrialState.COMPLETE else math.nan,
                "last_reported_val_mse": reported[max(reported)] if reported else math.nan,
                "epochs_reported": len(reported),
                "fit_seconds": trial.user_attrs.get("fit_seconds", math.nan),
                "seed": trial.user_attrs.get("seed"),
                "confirmed_seeds": " ".join(scores),
                "mean_val_mse": mean_val_mse(trial, scores) if scores else math.nan,
                **{f"param:{key}": value for key, value in trial.params.items()},
                "error": trial.user_attrs.get(
                    "error", CRASHED_ERROR if trial.number in again else ""
                ),
            }
        )
    # Nullable types: a trial without settings (one queued to run again) leaves its cells
    # empty instead of turning the whole column of an integer setting into floats.
    return pd.DataFrame(rows).convert_dtypes()


def write_table(table: pd.DataFrame, path: Path) -> None:
    with atomic_open(path) as f:
        table.to_csv(f, index=False)


def plot_search(table: pd.DataFrame, path: Path, title: str) -> None:
    """Validation MSE of every complete trial, the last reported one of every pruned
    trial, and the best so far."""
    fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    complete = table[table.state == "complete"]
    pruned = table[table.state == "pruned"]
    ax.scatter(complete.trial, complete.val_mse, color="C0", label="complete")
    ax.scatter(
        pruned.trial,
        pruned.last_reported_val_mse,
        color="C3",
        marker="x",
        label="pruned (last reported)",
    )
    # the best complete trial so far, carried on to the last trial of any state
    best = complete.set_index("trial").val_mse.reindex(table.trial).cummin().ffill()
    ax.step(best.index, best.to_numpy(), where="post", color="C2", label="best so far")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel("validation MSE")
    ax.set_title(title)
    ax.legend()
    with atomic_open(path, "wb") as f:
        fig.savefig(f, format="png", dpi=110)
    plt.close(fig)


def mean_val_mse(trial: FrozenTrial, scores: dict[str, float]) -> float:
    """The mean validation MSE over the trial's seed and the seeds of ``scores``, its
    confirmations."""
    return statistics.mean([trial.value, *scores.values()])


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    """The complete trial of lowest validation MSE; where trials were confirmed with more
    seeds (stanhop-tune --confirm), the confirmed trial of lowest mean over its seeds."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    confirmed = confirmations(study)
    pool = [t for t in complete if t.number in confirmed] or complete
    if not pool:
        return None
    return min(pool, key=lambda t: mean_val_mse(t, confirmed.get(t.number, {})))


def unconfirmed_better(study: optuna.Study, best: FrozenTrial) -> list[FrozenTrial]:
    """Complete trials not confirmed whose one-seed MSE is below the confirmed ``best``'s
    mean (a study extended after its confirmation): candidates the choice did not weigh."""
    confirmed = confirmations(study)
    if best.number not in confirmed:
        return []
    mean = mean_val_mse(best, confirmed[best.number])
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return [t for t in complete if t.number not in confirmed and t.value < mean]


def parse_overrides(overrides: list[str]) -> list[Override]:
    """The user's overrides, parsed; a :class:`UsageError` for ones a search cannot
    take (a sweep, a deletion)."""
    parsed = read_overrides(overrides)
    for override in parsed:
        if override.is_sweep_override():
            raise UsageError(
                f"{override.input_line}: stanhop-tune searches what its search file names; "
                "give one value here"
            )
        if override.type == OverrideType.DEL:
            raise UsageError(
                f"{override.input_line}: deleting a setting cannot go into the tuned "
                "experiment file; set its value instead"
            )
    return parsed


def experiment_text(
    search: Search,
    trial: FrozenTrial,
    choices: dict[str, Any],
    command: str,
    scores: dict[str, float] | None = None,
) -> str:
    """The experiment file of ``trial``: the user's overrides, the trial's settings and
    seed, as a Hydra config of the package ``_global_``. ``choices`` are the composed
    config's group choices (``hydra.runtime.choices``), for the sizes of ``debug``;
    ``command`` trains the file; ``scores`` are the trial's confirmations, if any."""
    groups = searched_groups(search.config_dir)
    includes: list[str] = []
    overrides: list[dict[str, str]] = []
    values: Any = OmegaConf.create({})
    settings = [
        *search.overrides,
        *search.space.overrides(trial.params),
        f"seed={trial.user_attrs['seed']}",
    ]
    for override in parse_overrides(settings):
        key = override.key_or_group
        if key.split(".")[0].split("/")[0] in NOT_SETTINGS:
            continue
        if key in groups:
            option = override.value()
            if key in EMPTY_GROUPS:
                includes.append(f"/{key}/{option}")
            else:
                overrides.append({f"override /{key}": option})
            continue
        OmegaConf.update(values, key, override.value(), force_add=True)
    debug_model = f"fast_{choices.get('model')}"
    if choices.get("debug") and debug_model in groups.get("debug_model", []):
        # what conf/train.yaml's debug_model entry adds for debug=fast, which an included
        # debug file does not choose
        includes.append(f"/debug_model/{debug_model}@model")
    defaults = [*includes, *overrides]
    body = OmegaConf.to_yaml(OmegaConf.create({"defaults": defaults, **values}))
    value = f"{trial.value:.6g}"
    scores = scores or {}
    mean = (
        f"; mean {mean_val_mse(trial, scores):.6g} with seeds {', '.join(scores)} too"
        if scores
        else ""
    )
    return (
        f"{PACKAGE}\n{MARK}{search.study_dir}\n"
        f"# Trial {trial.number}: validation MSE {value} (best epoch){mean}. Train it and "
        "test it once:\n"
        f"#   {command}\n"
        f"{body}"
    )


def check_writable(path: Path, study_dir: Path) -> None:
    """Raise a :class:`UsageError` when ``path`` exists and is not this study's file."""
    if path.exists():
        header = path.read_text().splitlines()[:2]
        if header != [PACKAGE, f"{MARK}{study_dir}"]:
            raise UsageError(
                f"{path} exists and was not written by this study; give another --name or "
                "move the file"
            )


def write_experiment(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path) as f:
        f.write(text)
