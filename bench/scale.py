"""How training-step time and peak memory grow with the number of series and with in_len.

    python bench/scale.py                                  # prints the table
    python bench/scale.py --plot docs/scale.png --json     # also draws it, and one JSON list
    python bench/scale.py --cross-series router            # the linear cross-series stage
    python bench/scale.py --cross-series full router --series 7 321 862 --plot docs/scale.png

Every point is one `bench/step_time.py --json` run in its own process, so its peak memory
is its own. The model is STanHop-Net at the published ETTh1 width (d_model 256, d_ff 512,
4 heads, 3 scales, seg_len 6); the series sweep uses in_len 168, the in_len sweep 7 series.
The batch is small by default (4) so that 862 series fit in a few GiB. With two
cross-series stages the script sweeps the series only, once per stage, and draws both
against the line of linear growth from the first point.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

STEP_TIME = Path(__file__).resolve().parent / "step_time.py"


def measure_point(
    series: int, in_len: int, args: argparse.Namespace, cross_series: str
) -> dict[str, Any]:
    """One ``step_time.py --json`` run in a fresh process."""
    cmd = [
        sys.executable,
        str(STEP_TIME),
        "--json",
        "--no-reference",
        f"--series={series}",
        f"--in-len={in_len}",
        f"--out-len={args.out_len}",
        f"--batch={args.batch}",
        f"--threads={args.threads}",
        f"--steps={args.steps}",
        f"--warmup={args.warmup}",
        f"--hopfield={args.hopfield}",
        f"--cross-series={cross_series}",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"error: {' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def growth(xs: list[int], ys: list[float]) -> list[float]:
    """Increase of ``ys`` per unit of ``xs`` between neighbouring points: constant for
    linear growth, itself growing for quadratic growth."""
    return [(y1 - y0) / (x1 - x0) for x0, x1, y0, y1 in zip(xs, xs[1:], ys, ys[1:], strict=False)]


def log_slope(xs: list[int], ys: list[float]) -> float:
    """Exponent k of ys ~ xs^k between the first and last point (1 linear, 2 quadratic)."""
    return math.log(ys[-1] / ys[0]) / math.log(xs[-1] / xs[0])


def print_sweep(title: str, key: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    print(f"{key:>8} {'train step':>11} {'inference':>10} {'peak RSS':>9} {'model mem':>10}")
    for r in rows:
        print(
            f"{r[key]:>8} {r['train_step_s']:>10.3f}s {r['infer_s']:>9.3f}s "
            f"{r['peak_rss_mib']:>5.0f} MiB {r['model_mib']:>6.0f} MiB"
        )
    xs = [r[key] for r in rows]
    if len(xs) < 2:
        return
    for what, unit in (("train_step_s", "s"), ("model_mib", "MiB")):
        ys = [r[what] for r in rows]
        steps = ", ".join(f"{g:.4g}" for g in growth(xs, ys))
        print(f"  {what}: +{unit} per unit of {key} between points: {steps}; "
              f"log-log slope {log_slope(xs, ys):.2f}")  # fmt: skip


def plot(series_rows: list[dict[str, Any]], len_rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(10, 7), constrained_layout=True)
    for col, (rows, key, label) in enumerate(
        [(series_rows, "series", "number of series"), (len_rows, "in_len", "in_len (steps)")]
    ):
        xs = [r[key] for r in rows]
        for row, (what, ylabel) in enumerate(
            [("train_step_s", "training step (s)"), ("model_mib", "peak memory above start (MiB)")]
        ):
            ax = axes[row][col]
            ys = [r[what] for r in rows]
            ax.plot(xs, ys, "o-", label="measured")
            # The line through the origin and the last point: where linear growth would lie.
            ax.plot([0, xs[-1]], [0, ys[-1]], ":", color="grey", label="linear")
            ax.set_xlabel(label)
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3)
            ax.legend()
    fig.suptitle(f"STanHop-Net cost (published ETTh1 width, batch {series_rows[0]['batch']})")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def plot_stages(rows: dict[str, list[dict[str, Any]]], path: Path) -> None:
    """Training-step time and memory against the number of series, one line per
    cross-series stage, each with the line of linear growth from its first point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, (what, ylabel) in zip(
        axes,
        [("train_step_s", "training step (s)"), ("model_mib", "peak memory above start (MiB)")],
        strict=True,
    ):
        for stage, points in rows.items():
            xs, ys = [r["series"] for r in points], [r[what] for r in points]
            (line,) = ax.plot(xs, ys, "o-", label=f"cross_series={stage}")
            # Linear growth from the first point: y0 · x / x0.
            ax.plot(xs, [ys[0] * x / xs[0] for x in xs], ":", color=line.get_color(),
                    label=f"{stage}: linear from {xs[0]} series")  # fmt: skip
        ax.set_xlabel("number of series")
        ax.set_ylabel(ylabel)
        ax.set_yscale("log")
        ax.set_xscale("log")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    batch = next(iter(rows.values()))[0]["batch"]
    fig.suptitle(
        f"STanHop-Net cost against series (published ETTh1 width, in_len 168, batch {batch})"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--series", type=int, nargs="+", default=[7, 21, 321, 862])
    p.add_argument("--in-lens", type=int, nargs="+", default=[96, 168, 336, 720])
    p.add_argument("--out-len", type=int, default=24)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--hopfield", default="outeffhop")
    p.add_argument(
        "--cross-series",
        choices=["full", "router"],
        nargs="+",
        default=["full"],
        help="one stage: the series and in_len sweeps; two: the series sweep of each",
    )
    p.add_argument("--plot", type=Path, help="write the figure to this PNG")
    p.add_argument("--json", action="store_true", help="also print every point as JSON")
    args = p.parse_args()

    header = (
        f"STanHop-Net hopfield={args.hopfield}, batch {args.batch}, threads {args.threads}, "
        f"median of {args.steps} steps"
    )
    if len(args.cross_series) > 1:
        stages = {
            stage: [with_model_mib(measure_point(c, 168, args, stage)) for c in args.series]
            for stage in args.cross_series
        }
        print(header)
        for stage, rows in stages.items():
            print_sweep(f"series (in_len 168), cross_series={stage}", "series", rows)
        if args.plot:
            plot_stages(stages, args.plot)
            print(f"\nfigure written to {args.plot}")
        if args.json:
            print(json.dumps([r | {"cross_series": s} for s, rows in stages.items() for r in rows]))
        return
    stage = args.cross_series[0]
    series_rows = [with_model_mib(measure_point(c, 168, args, stage)) for c in args.series]
    len_rows = [with_model_mib(measure_point(7, length, args, stage)) for length in args.in_lens]
    print(f"{header}, cross_series={stage}")
    print_sweep("series (in_len 168)", "series", series_rows)
    print_sweep("in_len (7 series)", "in_len", len_rows)
    if args.plot:
        plot(series_rows, len_rows, args.plot)
        print(f"\nfigure written to {args.plot}")
    if args.json:
        print(json.dumps(series_rows + len_rows))


def with_model_mib(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with ``model_mib``: the peak memory the model and its steps took."""
    return row | {"model_mib": row["peak_rss_mib"] - row["rss_before_mib"]}


if __name__ == "__main__":
    main()
