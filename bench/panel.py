"""Does a configuration travel? Test MSE of a model configuration against DLinear's
defaults and seasonal naive over the panel of datasets (bench/panel.yaml), at the budget
of ``python train.py``, and a leave-one-dataset-out estimate of choosing between
configurations on validation.

    python bench/panel_data.py --mirrors MIRRORS     # once: the panel folder (../shared/panel)
    python bench/panel.py --seeds 1 2 3              # the default configuration
    python bench/panel.py --override model.d_model=64 --out outputs/bench_panel_d64
    python bench/panel.py --validation-only          # choosing: validation MSE alone
    python bench/panel.py --candidates 'default:' 'narrow:model.d_model=64 model.d_ff=128'
    python bench/panel.py --datasets bike_daily nn5_daily --seeds 1 --every-run debug=fast

Every run is ``train(cfg)`` of the default configuration with ``data=csv`` and the
dataset's record (its path, input length, horizon, split and missing-value policy), so
windows, splits, metrics, early stopping and the budget are those of ``python train.py``
(at most 10 epochs of every batch, early stopping on validation MSE). ``--override`` sets
the configuration under test; DLinear runs with its defaults (``model=dlinear``);
``--every-run`` goes to every run, DLinear's too (``debug=fast`` for a smoke run). Each
run uses one thread (``threads=1``, ``OMP_NUM_THREADS=1``), ``--jobs`` of them at a time,
each in a fresh process. The figures are on the standardised scale.

Results: one line of JSON per finished run in ``--out``/runs.jsonl, appended as each run
ends; the table in ``--out``/panel_test.json (panel_val.json with ``--validation-only``),
the leave-one-out folds and estimate in ``--out``/leave_one_out.json. Started again with
the same ``--out`` (after a crash, with more ``--seeds`` or ``--datasets``), it trains only
the runs that are missing; a run already there under the same name with other overrides is
an error.

The table: per dataset, the mean over the seeds of the model's and DLinear's test MSE and
MAE and fit seconds, seasonal naive on the same test windows (the dataset's ``period``),
and the model's relative MSE against DLinear (the ratio of the means, minus one); below
it the mean relative MSE over the panel. ``--validation-only`` never builds the test
windows (``train(cfg, test=False)``) and tables validation MSE instead.

Leave one dataset out (``--candidates LABEL:OVERRIDES ...``): every candidate and DLinear
train on every dataset with validation alone; for each dataset in turn, the candidate of
the lowest mean relative validation MSE against DLinear over the *other* datasets is
chosen, and only then trained and tested on the one left out. The mean of those test
figures says how a choice made on the panel does on a dataset it never saw. With
``--validation-only`` the candidates train on validation alone and their table is the
result (``candidates_val.json``): nothing is tested, so disjoint ``--datasets`` can run
side by side into the same ``--out`` before one leave-one-out pass over all of them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accuracy import QUIET
from panel_data import DEFAULT_OUT, PANEL_YAML, PanelError, load_records

from stanhop.training.compose import compose_config
from stanhop.training.train import train

MODEL = "model"
DLINEAR = "dlinear"
DLINEAR_OVERRIDES = ("model=dlinear",)
# accuracy.py's quiet runs; ++ as debug=fast sets some of the same trainer keys
QUIETLY = tuple("+" + o if o.startswith("+") else o for o in QUIET)
# the metrics a run keeps, those of the test only where it ran
KEPT = ("val/mse", "val/mae", "train/epochs")
KEPT_TEST = ("test/mse", "test/mae", "test/seasonal_naive_mse", "test/seasonal_naive_mae")


@dataclass(frozen=True)
class PanelDataset:
    """One dataset of the panel: its CSV and the settings of its runs (panel.yaml)."""

    name: str
    path: Path
    in_len: int
    out_len: int
    split: tuple[float, float, float]
    nan_policy: str
    period: int | None

    @classmethod
    def from_record(cls, record: Mapping[str, Any], folder: Path) -> PanelDataset:
        split = record["split"]
        return cls(
            name=record["name"],
            path=folder / f"{record['name']}.csv",
            in_len=record["in_len"],
            out_len=record["out_len"],
            split=(split["train"], split["val"], split["test"]),
            nan_policy=record["nan_policy"],
            period=record.get("period"),
        )

    def overrides(self) -> list[str]:
        """The Hydra overrides that choose this dataset and its settings."""
        train, val, test = self.split
        chosen = [
            "data=csv",
            f"data.path={self.path.resolve()}",
            "data.date_column=date",
            f"data.in_len={self.in_len}",
            f"data.out_len={self.out_len}",
            f"data.split={{train: {train}, val: {val}, test: {test}}}",
            f"data.nan_policy={self.nan_policy}",
        ]
        if self.period is not None:
            chosen.append(f"callbacks.seasonal_naive.season={self.period}")
        return chosen


def load_panel(
    folder: Path, records: Path = PANEL_YAML, names: Sequence[str] | None = None
) -> list[PanelDataset]:
    """The panel's datasets (those of ``names``, if given), checked to be in ``folder``."""
    panel = [PanelDataset.from_record(r, folder) for r in load_records(records)]
    known = [ds.name for ds in panel]
    unknown = sorted(set(names or ()) - set(known))
    if unknown:
        raise PanelError(f"--datasets {' '.join(unknown)}: not in the panel ({', '.join(known)})")
    panel = [ds for ds in panel if not names or ds.name in names]
    missing = [ds.name for ds in panel if not ds.path.is_file()]
    if missing:
        raise PanelError(
            f"{folder}: no CSV of {', '.join(missing)}; build the panel folder with "
            "bench/panel_data.py (or give --panel)"
        )
    return panel


@dataclass(frozen=True)
class Task:
    """One run: a configuration (its label and overrides) on a dataset with a seed,
    tested or on validation alone (``mode`` test or val)."""

    dataset: PanelDataset
    config: str
    overrides: tuple[str, ...]
    seed: int
    mode: str

    @property
    def key(self) -> tuple[str, str, int, str]:
        return (self.dataset.name, self.config, self.seed, self.mode)

    def hydra_overrides(self, every_run: Sequence[str], out: Path) -> list[str]:
        name = f"{self.dataset.name}_{self.config}_seed{self.seed}_{self.mode}"
        return [
            *self.dataset.overrides(),
            *self.overrides,
            *every_run,
            f"seed={self.seed}",
            "threads=1",
            *QUIETLY,
            f"paths.output_dir={out / 'runs' / name}",
        ]


def train_one(overrides: list[str], test: bool) -> dict[str, float]:
    """Train one run of the composed config and return the metrics the panel keeps."""
    metrics = train(compose_config(*overrides), test=test)
    kept = {k: metrics[k] for k in KEPT}
    if test:
        kept |= {k: metrics[k] for k in KEPT_TEST if k in metrics}
    return kept | {"fit_s": metrics["train/fit_seconds"]}


class RunStore:
    """The finished runs of ``path`` (JSON lines), appended to as runs finish."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.runs: dict[tuple, dict[str, Any]] = {}
        if path.is_file():
            for line in path.read_text().splitlines():
                if line.strip():
                    run = json.loads(line)
                    self.runs[(run["dataset"], run["config"], run["seed"], run["mode"])] = run

    def check(self, task: Task, every_run: Sequence[str]) -> None:
        """A one-line error when ``task``'s name holds a run of other settings."""
        run = self.runs.get(task.key)
        settings = (list(task.overrides), list(every_run))
        if run is not None and (run["overrides"], run["every_run"]) != settings:
            raise PanelError(
                f"{self.path}: {task.config} on {task.dataset.name} (seed {task.seed}) was run "
                f"with overrides {run['overrides']} and every-run {run['every_run']}; give "
                "another --out, or the same overrides"
            )

    def add(self, run: dict[str, Any]) -> None:
        self.runs[(run["dataset"], run["config"], run["seed"], run["mode"])] = run
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(json.dumps(run) + "\n")


def run_tasks(
    tasks: Iterable[Task], store: RunStore, every_run: Sequence[str], out: Path, jobs: int
) -> None:
    """Train every task that ``store`` does not hold yet, ``jobs`` at a time, each in a
    fresh process (one run inline when ``jobs`` is 1), storing each as it ends."""
    todo = []
    for task in tasks:
        store.check(task, every_run)
        if task.key not in store.runs and task.key not in {t.key for t in todo}:
            todo.append(task)
    if not todo:
        return

    def finished(task: Task, metrics: dict[str, float], wall: float) -> None:
        ds, config, seed, mode = task.key
        run = {"dataset": ds, "config": config, "seed": seed, "mode": mode}
        run |= {"overrides": list(task.overrides), "every_run": list(every_run)}
        store.add(run | metrics | {"wall_s": wall})
        tested = f" test/mse {metrics['test/mse']:.4f}" if "test/mse" in metrics else ""
        print(
            f"{ds} {config} seed={seed}: val/mse {metrics['val/mse']:.4f}{tested} "
            f"({metrics['train/epochs']:.0f} epochs, fit {metrics['fit_s']:.0f} s)",
            flush=True,
        )

    if jobs == 1:
        for task in todo:
            start = time.perf_counter()
            metrics = train_one(task.hydra_overrides(every_run, out), task.mode == "test")
            finished(task, metrics, time.perf_counter() - start)
        return
    # A fresh process per run: Hydra, Lightning and torch keep global state between runs.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, max_tasks_per_child=1) as pool:
        starts = {}
        futures = {}
        for task in todo:
            overrides = task.hydra_overrides(every_run, out)
            futures[pool.submit(train_one, overrides, task.mode == "test")] = task
            starts[task.key] = time.perf_counter()
        for future in as_completed(futures):
            task = futures[future]
            finished(task, future.result(), time.perf_counter() - starts[task.key])


def mean_of(runs: Iterable[Mapping[str, Any]], key: str) -> float:
    return statistics.mean(r[key] for r in runs)


def runs_of(
    store: RunStore, dataset: str, config: str, seeds: Sequence[int], mode: str
) -> list[dict[str, Any]]:
    return [store.runs[(dataset, config, s, mode)] for s in seeds]


def panel_rows(
    store: RunStore, datasets: Sequence[str], seeds: Sequence[int], split: str
) -> list[dict[str, Any]]:
    """Per dataset, the means over ``seeds`` of the model's and DLinear's ``split`` (test
    or val) MSE, MAE and fit seconds, seasonal naive (tested runs) and the model's
    relative MSE against DLinear."""
    mode = "test" if split == "test" else "val"
    rows = []
    for name in datasets:
        ours = runs_of(store, name, MODEL, seeds, mode)
        theirs = runs_of(store, name, DLINEAR, seeds, mode)
        row = {"dataset": name}
        for label, runs in ((MODEL, ours), (DLINEAR, theirs)):
            row |= {
                f"{label} mse": mean_of(runs, f"{split}/mse"),
                f"{label} mae": mean_of(runs, f"{split}/mae"),
                f"{label} fit_s": mean_of(runs, "fit_s"),
            }
        if all("test/seasonal_naive_mse" in r for r in theirs) and mode == "test":
            row["naive mse"] = mean_of(theirs, "test/seasonal_naive_mse")
            row["naive mae"] = mean_of(theirs, "test/seasonal_naive_mae")
        row["relative mse"] = row[f"{MODEL} mse"] / row[f"{DLINEAR} mse"] - 1
        rows.append(row)
    return rows


def table(rows: Sequence[Mapping[str, Any]], split: str) -> str:
    lines = [
        f"| data | model {split} MSE | MAE | fit s | DLinear {split} MSE | MAE | fit s "
        "| seasonal naive MSE | MAE | model vs DLinear |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        naive = f"{r['naive mse']:.4f} | {r['naive mae']:.4f}" if "naive mse" in r else "– | –"
        lines.append(
            f"| {r['dataset']} | {r['model mse']:.4f} | {r['model mae']:.4f} "
            f"| {r['model fit_s']:.0f} | {r['dlinear mse']:.4f} | {r['dlinear mae']:.4f} "
            f"| {r['dlinear fit_s']:.0f} | {naive} | {r['relative mse']:+.1%} |"
        )
    changes = [r["relative mse"] for r in rows]
    wins = sum(c < 0 for c in changes)
    lines.append(
        f"\nmean relative {split} MSE over the panel {statistics.mean(changes):+.1%}; "
        f"model below DLinear on {wins} of {len(changes)}"
    )
    return "\n".join(lines)


def candidate_table(
    validation: Mapping[str, Mapping[str, float]], candidates: Sequence[str]
) -> str:
    """Validation MSE of DLinear and every candidate by dataset, each candidate's with its
    change against DLinear's, and each candidate's mean change over the datasets."""
    lines = [
        "| data | DLinear | " + " | ".join(candidates) + " |",
        "|---|---:|" + "---:|" * len(candidates),
    ]
    for name, v in validation.items():
        cells = [f"{v[c]:.4f} ({v[c] / v[DLINEAR] - 1:+.1%})" for c in candidates]
        lines.append(f"| {name} | {v[DLINEAR]:.4f} | " + " | ".join(cells) + " |")
    means = [f"{mean_relative(validation, c):+.1%}" for c in candidates]
    lines.append("| mean relative | | " + " | ".join(means) + " |")
    return "\n".join(lines)


def save_json(path: Path, result: Any) -> None:
    """``result`` as ``path``, replaced whole (never half written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2))
    tmp.replace(path)


def mean_relative(validation: Mapping[str, Mapping[str, float]], candidate: str) -> float:
    """``candidate``'s mean over the datasets of ``validation`` of its validation MSE
    relative to DLinear's."""
    return statistics.mean(v[candidate] / v[DLINEAR] - 1 for v in validation.values())


def choose(validation: Mapping[str, Mapping[str, float]], candidates: Sequence[str]) -> str:
    """The candidate of the lowest mean relative validation MSE against DLinear over the
    datasets of ``validation`` (dataset -> configuration -> mean validation MSE over the
    seeds, DLinear's among them): all that a choice may see."""
    return min(candidates, key=lambda c: mean_relative(validation, c))


def leave_one_out(
    datasets: Sequence[str],
    candidates: Sequence[str],
    validation_of: Callable[[str], Mapping[str, float]],
    test_of: Callable[[str, str], Mapping[str, float]],
    chooser: Callable[[Mapping[str, Mapping[str, float]], Sequence[str]], str],
) -> list[dict[str, Any]]:
    """For each dataset in turn: the candidate ``chooser`` picks from the validation
    figures of the other datasets alone (``validation_of``), then that candidate's test
    figures on the dataset left out (``test_of``, called only after the choice)."""
    folds = []
    for held in datasets:
        seen = {name: validation_of(name) for name in datasets if name != held}
        chosen = chooser(seen, candidates)
        folds.append({"held_out": held, "chosen": chosen, **test_of(held, chosen)})
    return folds


def parse_candidate(text: str) -> tuple[str, tuple[str, ...]]:
    """``LABEL:OVERRIDES`` (overrides split as a shell would) as a label and overrides."""
    label, sep, overrides = text.partition(":")
    if not sep or not label or label in (MODEL, DLINEAR) or "/" in label:
        raise PanelError(
            f"--candidates {text!r}: give LABEL:OVERRIDES, e.g. 'narrow:model.d_model=64' "
            f"(a label other than {MODEL} and {DLINEAR})"
        )
    return label, tuple(shlex.split(overrides))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--panel", type=Path, default=DEFAULT_OUT, help="the panel folder")
    p.add_argument("--records", type=Path, default=PANEL_YAML, help="the panel's records")
    p.add_argument("--datasets", nargs="+", metavar="NAME", help="default: the whole panel")
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    p.add_argument("--jobs", type=int, default=2, help="runs at a time (one thread each)")
    p.add_argument(
        "--override", nargs="*", default=[], help="Hydra overrides of the configuration under test"
    )
    p.add_argument(
        "--every-run", nargs="*", default=[], help="Hydra overrides of every run, DLinear's too"
    )
    p.add_argument(
        "--validation-only",
        action="store_true",
        help="never build the test windows; table validation MSE (of every candidate, "
        "without leaving datasets out, with --candidates)",
    )
    p.add_argument(
        "--candidates",
        nargs="+",
        metavar="LABEL:OVERRIDES",
        help="configurations to choose between by leaving one dataset out",
    )
    p.add_argument("--out", type=Path, default=Path("outputs/bench_panel"))
    args = p.parse_args(argv)
    if args.jobs < 1:
        p.error(f"--jobs {args.jobs}: give 1 or more")
    if args.candidates and args.override:
        p.error("--candidates: give each candidate's overrides in it, without --override")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # one thread per run, in every process the runs start
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        panel = load_panel(args.panel, args.records, args.datasets)
        candidates = dict(parse_candidate(c) for c in args.candidates or ())
        if len(candidates) < len(args.candidates or ()):
            raise PanelError("--candidates: give every candidate a label of its own")
        if candidates and len(panel) < 2 and not args.validation_only:
            raise PanelError("--candidates: leaving one dataset out needs two or more")
        store = RunStore(args.out / "runs.jsonl")
        names = [ds.name for ds in panel]
        by_name = {ds.name: ds for ds in panel}
        configs = {DLINEAR: DLINEAR_OVERRIDES}

        def tasks(datasets: Iterable[str], labels: Iterable[str], mode: str) -> list[Task]:
            return [
                Task(by_name[d], label, tuple(configs[label]), seed, mode)
                for d in datasets
                for label in labels
                for seed in args.seeds
            ]

        def run(todo: list[Task]) -> None:
            run_tasks(todo, store, args.every_run, args.out, args.jobs)

        if not candidates:
            configs[MODEL] = tuple(args.override)
            mode = "val" if args.validation_only else "test"
            run(tasks(names, (MODEL, DLINEAR), mode))
            split = "val" if args.validation_only else "test"
            rows = panel_rows(store, names, args.seeds, split)
            print(f"\nseeds {args.seeds}; {MODEL}: {args.override or 'the defaults'}")
            print(table(rows, split))
            summary = {"seeds": args.seeds, "override": args.override, "split": split}
            summary |= {"every_run": args.every_run, "datasets": rows}
            summary["mean relative mse"] = statistics.mean(r["relative mse"] for r in rows)
            save_json(args.out / f"panel_{split}.json", summary)
            return

        configs |= candidates
        # every validation run first, two at a time; the choices below read them per fold
        run(tasks(names, [*candidates, DLINEAR], "val"))

        def validation_of(name: str) -> dict[str, float]:
            return {
                label: mean_of(runs_of(store, name, label, args.seeds, "val"), "val/mse")
                for label in (*candidates, DLINEAR)
            }

        if args.validation_only:
            everything = {name: validation_of(name) for name in names}
            print(f"\nseeds {args.seeds}; candidates {candidates}")
            print(candidate_table(everything, list(candidates)))
            result = {"seeds": args.seeds, "every_run": args.every_run}
            result["candidates"] = {label: list(o) for label, o in candidates.items()}
            result["validation"] = everything
            save_json(args.out / "candidates_val.json", result)
            return

        def test_of(name: str, chosen: str) -> dict[str, float]:
            run(tasks([name], (chosen, DLINEAR), "test"))
            ours = mean_of(runs_of(store, name, chosen, args.seeds, "test"), "test/mse")
            theirs = mean_of(runs_of(store, name, DLINEAR, args.seeds, "test"), "test/mse")
            return {"test/mse": ours, "dlinear test/mse": theirs, "relative": ours / theirs - 1}

        folds = leave_one_out(names, list(candidates), validation_of, test_of, choose)
        print(f"\nseeds {args.seeds}; candidates {candidates}")
        print("| left out | chosen on the others' validation | test MSE | DLinear | change |")
        print("| --- | --- | ---: | ---: | ---: |")
        for f in folds:
            print(
                f"| {f['held_out']} | {f['chosen']} | {f['test/mse']:.4f} "
                f"| {f['dlinear test/mse']:.4f} | {f['relative']:+.1%} |"
            )
        estimate = statistics.mean(f["relative"] for f in folds)
        print(f"\nleave-one-dataset-out estimate: {estimate:+.1%} against DLinear's test MSE")
        everything = {name: validation_of(name) for name in names}
        for label in candidates:
            print(f"{label}: mean relative validation MSE {mean_relative(everything, label):+.1%}")
        final = choose(everything, list(candidates))
        print(f"chosen on the whole panel's validation: {final}")
        save_json(
            args.out / "leave_one_out.json",
            {
                "seeds": args.seeds,
                "candidates": {label: list(o) for label, o in candidates.items()},
                "every_run": args.every_run,
                "folds": folds,
                "estimate": estimate,
                "validation": everything,
                "chosen": final,
            },
        )
    except PanelError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
