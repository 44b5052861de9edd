"""Which model forecasts best? Test accuracy of STanHop-Net (three normalisers), DLinear,
seasonal naive and persistence on several datasets and horizons, several seeds, with the
epochs and wall time of every trained run.

    export STANHOP_DATA_MIRROR=/path/to/folder   # holding ETTh1.csv, WTH.csv, national_illness.csv
    python bench/accuracy.py --threads 1            # every run to convergence (hours)
    python bench/accuracy.py --threads 1 --quick    # 4 epochs x 100 batches per run (78 runs,
                                                    # about 3 h of one core; bench/RESULTS.md)
    python bench/accuracy.py --models stanhop --datasets etth1 --horizons 24   # entmax: slow
    python bench/accuracy.py --datasets etth1 --horizons 24 --seeds 1 --models outeffhop dlinear
    python bench/accuracy.py --csv my.csv --in-len 96 --horizons 24 --split 0.7 0.1 0.2
    python bench/accuracy.py --json                 # also every run as JSON
    python bench/accuracy.py --tuned --models outeffhop dlinear --datasets etth1 wth ili \
        --horizons 24 --max-time 15m                # the settings stanhop-tune found
    python bench/accuracy.py --tuned --models outeffhop dlinear --datasets ili --restarts 3
                                                    # the best of 3 runs a seed, on validation
    python bench/accuracy.py --tuned --models outeffhop --datasets ili --validation-only \
        --override averaging=ema                    # choose between variants on validation

Results go to ``--out``/results.json after every run. Started again with the same
``--out`` (after a crash, or with more ``--models`` or ``--seeds``), it reuses the runs
already there and adds the missing ones; the budget and overrides must be the same.

Every run is ``train(cfg)`` of the real configuration, so windows, splits, metrics and
early stopping are those of ``python train.py``; test MSE/MAE are on the standardised
scale, mean ± sample standard deviation over the seeds.

Budget rule, the same for every trained model: batches of 32 windows, validation after
every epoch, and the test on the weights of the best validation epoch. By default every run
trains to convergence: until the validation MSE has not improved for ``--patience`` epochs
(5), at most ``--max-epochs`` epochs (50) of every training batch, and at most
``--max-time`` of fitting (30m). ``--quick`` is the small budget of earlier tables: at
most 4 epochs of 100 batches, early stopping as each recipe says. The table gives each
configuration's epochs, wall time and what stopped its runs. Every model of a dataset sees
the same input length, except with ``--tuned``: each model then runs with the settings
``stanhop-tune`` found for it on validation (conf/experiment/tuned/), its input length
among them, under the same budget. ``--restarts K`` trains every model K times a seed
and keeps, for the table, the run of lowest validation MSE (every run's test MSE stays in
results.json); ``--validation-only`` never builds the test split and tables validation
MSE, for choosing between variants before the final runs.

STanHop-Net has a small width (d_model 64, d_ff 128, 4 heads, 10 pooling patterns) with
the published depth of each dataset's reference setting (3 scales, merging 2 segments)
and its default recipe and instance normalisation (conf/). DLinear runs with
its published recipe (Adam, lr 5e-3, the halving schedule, shared maps, kernel 25) both
with and without reversible instance normalisation; the table reports the configuration
with the lower mean validation MSE of each dataset and horizon (never the test split).
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate

from stanhop.cli.tune import parse_duration
from stanhop.measures.baselines import persistence, seasonal_naive
from stanhop.training.compose import compose_config
from stanhop.training.overrides import UsageError
from stanhop.training.train import train


@dataclass(frozen=True)
class Dataset:
    """One benchmark dataset: Hydra overrides choosing it, the input length every model
    gets, the horizons, STanHop-Net's segment length, and the season of seasonal naive
    (None where the season is longer than the input)."""

    label: str
    data: tuple[str, ...]
    in_len: int
    horizons: tuple[int, ...]
    seg_len: int
    period: int | None

    @property
    def key(self) -> str:
        """The data config's name (``data=KEY``), as stanhop-tune names its files."""
        return self.data[0].removeprefix("data=")


DATASETS = {
    # Crossformer's and STanHop-Net's settings for ETTh1 and WTH (their run scripts).
    "etth1": Dataset("ETTh1", ("data=etth1",), 168, (24, 48), 6, 24),
    "wth": Dataset("WTH", ("data=wth",), 48, (24, 48), 4, 24),
    # Weekly; the input length and horizons of the Autoformer protocol (Wu et al.,
    # NeurIPS 2021), used since by FEDformer, DLinear and others. The yearly season (52
    # weeks) is longer than the input, so no seasonal naive.
    "ili": Dataset("ILI", ("data=ili",), 36, (24, 36), 6, None),
    # The built-in hourly data of the README's first run (daily and weekly cycles).
    "synthetic": Dataset("synthetic", ("data=synthetic",), 96, (24,), 12, 24),
}
STANHOP_MODELS = ("outeffhop", "softmax", "stanhop")
MODELS = (*STANHOP_MODELS, "dlinear")
# DLinear's candidate configurations, chosen between on validation
DLINEAR_CONFIGS = {"dlinear": ("model.revin=false",), "dlinear+revin": ("model.revin=true",)}
STANHOP_SIZE = ("model.d_model=64", "model.d_ff=128", "model.n_heads=4", "model.factor=10")
STANHOP_SIZE += ("model.e_layers=3", "model.win_size=2")
DLINEAR_RECIPE = ("recipe=reference", "optimizer.lr=5e-3")
# the settings stanhop-tune found: conf/experiment/tuned/MODEL_DATA_hHORIZON.yaml
TUNED = Path(__file__).resolve().parents[1] / "stanhop" / "conf" / "experiment" / "tuned"
TUNED_MODELS = ("outeffhop", "dlinear")
QUIET = (
    "logger=none",
    "callbacks.progress_bar=null",
    "+trainer.enable_progress_bar=false",
    "+trainer.enable_model_summary=false",
    # accuracy only: the outlier, INT8 and interval evaluations are other benchmarks
    "callbacks.outliers=null",
    "callbacks.quantization=null",
    "callbacks.intervals=null",
    "callbacks.step_checkpoint=null",
)


@dataclass(frozen=True)
class Budget:
    """The training budget of every run: at most ``max_epochs`` epochs of at most
    ``batches`` batches (None: all), early stopping after ``patience`` epochs without a
    better validation MSE (None: the recipe's), at most ``max_time`` seconds of fitting
    (None: no cap)."""

    max_epochs: int
    batches: int | None
    patience: int | None
    max_time: float | None

    def overrides(self) -> list[str]:
        # Every setting is given, so a tuned experiment file's own trial budget never
        # leaks into a run; ++ adds a key or replaces the experiment's.
        chosen = [f"trainer.max_epochs={self.max_epochs}", "data.batch_size=32"]
        chosen.append(f"trainer.limit_train_batches={self.batches or 'null'}")
        if self.patience is not None:
            chosen.append(f"callbacks.early_stopping.patience={self.patience}")
        # Lightning's Timer: fitting stops at the first batch past the cap
        cap = "null" if self.max_time is None else f"'{_dd_hh_mm_ss(self.max_time)}'"
        chosen.append(f"++trainer.max_time={cap}")
        return chosen

    def describe(self) -> str:
        batches = "every batch" if self.batches is None else f"{self.batches} batches"
        patience = (
            "early stopping as each recipe says"
            if self.patience is None
            else f"until {self.patience} epochs without a better validation MSE"
        )
        cap = "" if self.max_time is None else f", at most {self.max_time:g} s of fitting"
        return f"at most {self.max_epochs} epochs of {batches}, {patience}{cap}"

    def stopped_by(self, run: dict[str, Any]) -> str:
        """What ended a run: the time cap, the epoch cap or patience."""
        if self.max_time is not None and run["fit_s"] >= self.max_time:
            return "time cap"
        if run["train/epochs"] >= self.max_epochs:
            return "epoch cap"
        return "patience"


def _dd_hh_mm_ss(seconds: float) -> str:
    """Lightning's duration string for ``seconds`` (whole seconds)."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"{days:02d}:{hours:02d}:{minutes:02d}:{secs:02d}"


QUICK = Budget(max_epochs=4, batches=100, patience=None, max_time=None)
CONVERGENCE = Budget(max_epochs=50, batches=None, patience=5, max_time=1800.0)


def compose_cfg(overrides: list[str]) -> Any:
    return compose_config(*overrides)


def data_overrides(ds: Dataset, horizon: int) -> list[str]:
    return [*ds.data, f"data.in_len={ds.in_len}", f"data.out_len={horizon}"]


def tuned_experiment(ds: Dataset, horizon: int, model: str) -> str:
    """The experiment file stanhop-tune wrote for ``model`` (outeffhop or dlinear) on this
    dataset: the one of this horizon, else the one of the dataset's first horizon (its
    settings reused with this horizon), also when ``--horizons`` leaves that one out. A
    one-line exit where there is none."""
    name = {"outeffhop": "stanhop", "dlinear": "dlinear"}[model]
    first = DATASETS[ds.key].horizons[0] if ds.key in DATASETS else ds.horizons[0]
    for h in (horizon, first):
        stem = f"{name}_{ds.key}_h{h}"
        if (TUNED / f"{stem}.yaml").is_file():
            return f"tuned/{stem}"
    sys.exit(
        f"error: no tuned settings for {model} on {ds.key} (conf/experiment/tuned/"
        f"{name}_{ds.key}_h{horizon}.yaml); run stanhop-tune data={ds.key} "
        f"data.out_len={horizon} model={name} first (docs/tuning.md)"
    )


def run_overrides(
    ds: Dataset,
    horizon: int,
    model: str,
    seed: int,
    budget: list[str],
    out: Path,
    tuned: bool = False,
) -> list[str]:
    """The Hydra overrides of one run; ``model`` is a STanHop normaliser or a key of
    :data:`DLINEAR_CONFIGS`, or with ``tuned`` outeffhop or dlinear with the settings
    stanhop-tune found (input length included)."""
    if tuned:
        experiment = tuned_experiment(ds, horizon, model)
        name = f"{ds.label}_h{horizon}_{model}_tuned_seed{seed}"
        return [
            f"experiment={experiment}",
            f"data.out_len={horizon}",
            *budget,
            f"seed={seed}",
            *QUIET,
            f"paths.output_dir={out / name}",
        ]
    if model in STANHOP_MODELS:
        chosen = ["model=stanhop", f"hopfield={model}", f"model.seg_len={ds.seg_len}"]
        chosen += STANHOP_SIZE
    else:
        chosen = ["model=dlinear", *DLINEAR_RECIPE, *DLINEAR_CONFIGS[model]]
    name = f"{ds.label}_h{horizon}_{model}_seed{seed}"
    return [
        *data_overrides(ds, horizon),
        *chosen,
        *budget,
        f"seed={seed}",
        *QUIET,
        f"paths.output_dir={out / name}",
    ]


def naive_errors(ds: Dataset, horizon: int) -> dict[str, dict[str, float]]:
    """Test MSE/MAE of persistence and seasonal naive on the trained runs' test windows."""
    cfg = compose_cfg([*data_overrides(ds, horizon), "paths.output_dir=unused"])
    dm = instantiate(cfg.data)
    dm.prepare_data()
    dm.setup()
    forecasts = {"persistence": lambda x: persistence(x, horizon)}
    if ds.period is not None:
        forecasts[f"seasonal naive ({ds.period})"] = lambda x: seasonal_naive(x, horizon, ds.period)
    sums = {name: [0.0, 0.0] for name in forecasts}
    n = 0
    for x, y in dm.test_dataloader():
        n += y.numel()
        for name, forecast in forecasts.items():
            err = forecast(x) - y
            sums[name][0] += float((err**2).sum())
            sums[name][1] += float(err.abs().sum())
    return {name: {"test/mse": sq / n, "test/mae": ab / n} for name, (sq, ab) in sums.items()}


# Restart r of table seed s trains with seed s + r * RESTART_SEEDS (restart 0 is seed s).
RESTART_SEEDS = 1000


def best_restarts(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One run per dataset, horizon, model and table seed: of its restarts, the one of
    lowest validation MSE (never test), with the wall time of all of them."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["data"], r["horizon"], r["model"], r["seed"]), []).append(r)
    chosen = []
    for group in groups.values():
        best = min(group, key=lambda r: r["val/mse"])
        chosen.append(best | {"wall_s": sum(r["wall_s"] for r in group)})
    return chosen


def mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def mean(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.mean(r[key] for r in runs)


def pick_dlinear(runs: list[dict[str, Any]]) -> str:
    """The DLinear configuration of these runs (one dataset and horizon) with the lowest
    mean validation MSE."""
    configs = {r["model"] for r in runs if r["model"] in DLINEAR_CONFIGS}
    return min(configs, key=lambda c: mean([r for r in runs if r["model"] == c], "val/mse"))


def summarise(
    runs: list[dict[str, Any]],
    naive: dict[tuple[str, int], dict[str, dict[str, float]]],
    split: str = "test",
) -> tuple[str, list[dict[str, Any]]]:
    """The Markdown table and, per dataset and horizon, OutEffHop's mean MSE on ``split``
    (test, or val for runs that never built the test split) against the chosen
    DLinear's."""
    lines = [
        f"| data | horizon | model | {split} MSE | {split} MAE | epochs "
        "| wall time per run (s) | stopped by | seeds |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    comparisons = []
    for label, horizon in sorted({(r["data"], r["horizon"]) for r in runs}):
        group = [r for r in runs if (r["data"], r["horizon"]) == (label, horizon)]
        has_dlinear = any(r["model"] in DLINEAR_CONFIGS for r in group)
        chosen = pick_dlinear(group) if has_dlinear else None
        for model in (*STANHOP_MODELS, *DLINEAR_CONFIGS):
            rows = [r for r in group if r["model"] == model]
            if not rows:
                continue
            name = model
            if (
                model in DLINEAR_CONFIGS
                and len({r["model"] for r in group} & set(DLINEAR_CONFIGS)) > 1
            ):
                name += " (chosen on validation)" if model == chosen else " (not chosen)"
            walls = statistics.mean(r["wall_s"] for r in rows)
            stops = Counter(r.get("stopped_by", "?") for r in rows)
            stopped = ", ".join(f"{why} {n}" for why, n in sorted(stops.items()))
            lines.append(
                f"| {label} | {horizon} | {name} | {mean_std([r[f'{split}/mse'] for r in rows])} "
                f"| {mean_std([r[f'{split}/mae'] for r in rows])} "
                f"| {mean(rows, 'train/epochs'):.1f} "
                f"| {walls:.0f} | {stopped} | {len(rows)} |"
            )
        for name, err in naive.get((label, horizon), {}).items():
            lines.append(
                f"| {label} | {horizon} | {name} | {err['test/mse']:.4f} | "
                f"{err['test/mae']:.4f} | – | – | – | – |"
            )
        ours = [r for r in group if r["model"] == "outeffhop"]
        if ours and chosen:
            theirs = mean([r for r in group if r["model"] == chosen], f"{split}/mse")
            comparisons.append(
                {
                    "data": label,
                    "horizon": horizon,
                    "outeffhop": mean(ours, f"{split}/mse"),
                    "dlinear": theirs,
                    "dlinear_config": chosen,
                }
            )
    return "\n".join(lines), comparisons


def comparison_lines(comparisons: list[dict[str, Any]], split: str = "test") -> str:
    lines = [
        f"| data | horizon | OutEffHop {split} MSE | DLinear {split} MSE | OutEffHop vs DLinear |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    changes = []
    for c in comparisons:
        change = c["outeffhop"] / c["dlinear"] - 1
        changes.append(change)
        lines.append(
            f"| {c['data']} | {c['horizon']} | {c['outeffhop']:.4f} | {c['dlinear']:.4f} "
            f"({c['dlinear_config']}) | {change:+.1%} |"
        )
    if changes:
        wins = sum(change < 0 for change in changes)
        lines.append(
            f"\nOutEffHop below DLinear in {wins} of {len(changes)}; "
            f"mean change {statistics.mean(changes):+.1%}"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--datasets", nargs="+", choices=sorted(DATASETS), default=list(DATASETS))
    p.add_argument("--csv", type=Path, help="benchmark this wide CSV instead of --datasets")
    p.add_argument("--in-len", type=int, default=96, help="input length for --csv")
    p.add_argument("--seg-len", type=int, default=12, help="STanHop segment length for --csv")
    p.add_argument("--period", type=int, default=None, help="season of --csv in steps")
    p.add_argument(
        "--split",
        nargs=3,
        metavar=("TRAIN", "VAL", "TEST"),
        help="split of --csv: three ratios (0.7 0.1 0.2) or three row counts",
    )
    p.add_argument("--horizons", nargs="+", type=int, help="default: each dataset's")
    p.add_argument(
        "--models",
        nargs="+",
        choices=MODELS,
        default=["outeffhop", "softmax", "dlinear"],
        help="stanhop (learnable-alpha entmax) is left out by default: its retrieval costs "
        "about 12x softmax1's on a CPU",
    )
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    p.add_argument(
        "--tuned",
        action="store_true",
        help="outeffhop and dlinear with the settings stanhop-tune wrote to "
        "conf/experiment/tuned/ (input length included; a horizon without its own file "
        "reuses the dataset's first horizon's)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="at most 4 epochs of 100 batches, the recipes' early stopping (earlier tables)",
    )
    p.add_argument("--max-epochs", type=int, help="default 50 (--quick: 4)")
    p.add_argument(
        "--batches", type=int, help="training batches per epoch (default all; --quick 100)"
    )
    p.add_argument("--patience", type=int, help="epochs without a better val MSE (default 5)")
    p.add_argument("--max-time", help="fitting time cap per run, e.g. 30m (the default), 2h")
    p.add_argument(
        "--threads", type=int, help="intra-op threads of every run (default: threads=auto)"
    )
    p.add_argument(
        "--restarts",
        type=int,
        default=1,
        help="train every model K times per seed (seeds s, s+1000, ...) and keep the run "
        "of lowest validation MSE; its wall time is that of all K",
    )
    p.add_argument(
        "--validation-only",
        action="store_true",
        help="never build the test split: train as the table would and report validation "
        "MSE, to choose between settings before the final runs read the test split once",
    )
    p.add_argument("--out", type=Path, default=Path("outputs/bench_accuracy"))
    p.add_argument("--override", nargs="*", default=[], help="Hydra overrides for every run")
    p.add_argument("--json", action="store_true", help="also print every run as JSON")
    args = p.parse_args(argv)
    if args.split is not None:
        kind = float if any("." in s for s in args.split) else int
        try:
            args.split = [kind(s) for s in args.split]
        except ValueError:
            p.error(f"--split {' '.join(args.split)}: give three ratios or three row counts")
    if args.tuned and (args.csv is not None or not set(args.models) <= set(TUNED_MODELS)):
        p.error("--tuned: give --datasets and --models among outeffhop dlinear")
    if args.restarts < 1:
        p.error(f"--restarts {args.restarts}: give 1 or more")
    if args.csv is not None and not args.csv.is_file():
        p.error(f"--csv {args.csv}: no such file")
    base = QUICK if args.quick else CONVERGENCE
    try:
        max_time = base.max_time if args.max_time is None else parse_duration(args.max_time)
    except UsageError as err:
        p.error(str(err).replace("--timeout", "--max-time"))
    args.budget = Budget(
        max_epochs=base.max_epochs if args.max_epochs is None else args.max_epochs,
        batches=base.batches if args.batches is None else args.batches,
        patience=base.patience if args.patience is None else args.patience,
        max_time=max_time,
    )
    return args


def datasets_of(args: argparse.Namespace) -> list[Dataset]:
    if args.csv is not None:
        data = ["data=csv", f"data.path={args.csv.resolve()}"]
        if args.split is not None:
            data += [
                f"data.split={{train: {args.split[0]}, val: {args.split[1]}, "
                f"test: {args.split[2]}}}"
            ]
        chosen = [
            Dataset(args.csv.name, tuple(data), args.in_len, (24,), args.seg_len, args.period)
        ]
    else:
        chosen = [DATASETS[name] for name in args.datasets]
    if args.horizons:
        chosen = [replace(ds, horizons=tuple(args.horizons)) for ds in chosen]
    return chosen


def load_previous(path: Path, settings: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs of an earlier invocation writing to the same results file, if it used
    the same budget and overrides; a one-line exit otherwise."""
    if not path.is_file():
        return []
    previous = json.loads(path.read_text())
    if previous.get("settings") != settings:
        sys.exit(
            f"error: {path} holds runs made with other settings ({previous.get('settings')}); "
            "give another --out, or the same budget and --override"
        )
    return previous["runs"]


def save(
    path: Path,
    settings: dict[str, Any],
    runs: list[dict[str, Any]],
    naive: dict,
    comparisons: list[dict[str, Any]],
) -> dict[str, Any]:
    naive_json = {f"{label}_h{h}": v for (label, h), v in naive.items()}
    result = {"settings": settings, "runs": runs, "naive": naive_json, "comparisons": comparisons}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2))
    tmp.replace(path)
    return result


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    budget = args.budget.overrides()
    settings = {**asdict(args.budget), "override": list(args.override)}
    if args.tuned:
        settings["tuned"] = True
    split = "val" if args.validation_only else "test"
    if args.validation_only:
        settings["validation_only"] = True
    if args.restarts > 1:
        settings["restarts"] = args.restarts
    results = args.out / "results.json"
    runs = load_previous(results, settings)
    done = {(r["data"], r["horizon"], r["model"], r["seed"], r.get("restart", 0)) for r in runs}
    models = [m for m in args.models if m in STANHOP_MODELS]
    if args.tuned:
        models += ["dlinear"] if "dlinear" in args.models else []
    else:
        models += list(DLINEAR_CONFIGS) if "dlinear" in args.models else []
    naive = {}
    for ds in datasets_of(args):
        for horizon in ds.horizons:
            if not args.validation_only:
                naive[(ds.label, horizon)] = naive_errors(ds, horizon)
            for model in models:
                for seed, restart in itertools.product(args.seeds, range(args.restarts)):
                    if (ds.label, horizon, model, seed, restart) in done:
                        continue
                    run_seed = seed + restart * RESTART_SEEDS
                    overrides = run_overrides(
                        ds, horizon, model, run_seed, budget, args.out, tuned=args.tuned
                    )
                    # --threads for the run too, which otherwise chooses its own
                    given = [f"threads={args.threads}"] if args.threads else []
                    cfg = compose_cfg([*overrides, *given, *args.override])
                    start = time.perf_counter()
                    metrics = train(cfg, test=not args.validation_only)
                    wall = time.perf_counter() - start
                    run = {"data": ds.label, "horizon": horizon, "model": model, "seed": seed}
                    if args.restarts > 1:
                        run |= {"restart": restart, "run_seed": run_seed}
                    kept = ("val/mse", "val/mae", "train/epochs")
                    kept += () if args.validation_only else ("test/mse", "test/mae")
                    run |= {k: metrics[k] for k in kept} | {"wall_s": wall}
                    run["fit_s"] = metrics["train/fit_seconds"]
                    run["stopped_by"] = args.budget.stopped_by(run)
                    runs.append(run)
                    save(results, settings, runs, naive, [])
                    tested = "" if args.validation_only else f" test/mse {run['test/mse']:.4f}"
                    print(
                        f"{ds.label} h={horizon} {model} seed={run_seed}: val/mse "
                        f"{run['val/mse']:.4f}{tested} "
                        f"({run['train/epochs']:.0f} epochs, {wall:.0f} s, stopped by "
                        f"{run['stopped_by']})",
                        flush=True,
                    )
    # the table of the datasets asked for, with the runs of earlier invocations
    chosen = {(ds.label, h) for ds in datasets_of(args) for h in ds.horizons}
    table, comparisons = summarise(
        best_restarts([r for r in runs if (r["data"], r["horizon"]) in chosen]), naive, split
    )
    restarts = (
        f"the best of {args.restarts} restarts on validation per seed; "
        if args.restarts > 1
        else ""
    )
    print(
        f"\n{'settings tuned on validation (conf/experiment/tuned/); ' if args.tuned else ''}"
        f"seeds {args.seeds}; {restarts}every run {args.budget.describe()}; "
        f"threads {torch.get_num_threads()}"
    )
    print(table)
    print()
    print(comparison_lines(comparisons, split))
    result = save(results, settings, runs, naive, comparisons)
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
