"""How long a forecast takes: cold (a fresh `python forecast.py` process, from its start
until the output file is written and it exits) and warm (`Forecaster.predict` in a
process that has already loaded the checkpoint).

    python bench/forecast_latency.py                       # trains a small checkpoint first
    python bench/forecast_latency.py --checkpoint best.ckpt --csv ETTh1.csv --json

Without --checkpoint, a checkpoint of the default model (in_len 96, out_len 24) is trained
on two batches of --csv (default ../shared/data/ETTh1.csv): its weights are barely
trained, but its size and so its speed are those of a real run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CSV = ROOT.parent / "shared" / "data" / "ETTh1.csv"


def train_checkpoint(csv: Path, out_dir: Path) -> Path:
    """The best checkpoint of the default config trained on two batches of ``csv``."""
    from stanhop.training.compose import compose_config
    from stanhop.training.train import train

    cfg = compose_config(
        f"paths.output_dir={out_dir}",
        "data=csv",
        f"data.path={csv}",
        "logger=none",
        "callbacks.progress_bar=null",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=2",
        "trainer.limit_val_batches=1",
        "trainer.limit_test_batches=1",
        # keep standard output for the figures (--json)
        "+trainer.enable_progress_bar=false",
        "+trainer.enable_model_summary=false",
    )
    train(cfg)
    return out_dir / "checkpoints" / "best.ckpt"


def cold_seconds(command: list[str], threads: int, output: Path | None = None) -> float:
    """Wall time of one fresh process running ``command``, start to exit."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    if output is not None:
        output.unlink(missing_ok=True)
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, capture_output=True)
    seconds = time.perf_counter() - start
    if output is not None and not output.is_file():
        raise RuntimeError(f"{output} was not written")
    return seconds


def warm_seconds(fn, runs: int) -> list[float]:
    fn()  # first call: lazy initialisation, caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, help="default: train a small one")
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV, help="history to forecast")
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--warm-runs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if not args.csv.is_file():
        sys.exit(f"error: {args.csv} not found; pass --csv with a wide CSV (e.g. ETTh1.csv)")
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ckpt = args.checkpoint or train_checkpoint(args.csv, tmp / "run")
        out = tmp / "forecast.csv"
        forecast_cmd = [sys.executable, str(ROOT / "forecast.py"), str(ckpt), str(args.csv)]
        forecast_cmd += ["-o", str(out), "--force"]
        import_cmd = [sys.executable, "-c", "import stanhop.cli.forecast"]
        cold = [cold_seconds(forecast_cmd, args.threads, out) for _ in range(args.cold_runs)]
        imports = [cold_seconds(import_cmd, args.threads) for _ in range(args.cold_runs)]

        from stanhop import Forecaster

        load = warm_seconds(lambda: Forecaster.load(ckpt), 3)
        forecaster = Forecaster.load(ckpt)
        history = forecaster.read_history(args.csv)
        from_csv = warm_seconds(lambda: forecaster.predict(args.csv), args.warm_runs)
        from_frame = warm_seconds(lambda: forecaster.predict(history), args.warm_runs)
        window = torch.zeros(1, forecaster.in_len, len(forecaster.series_names))

        def forward() -> None:
            with torch.inference_mode():
                forecaster.model(window)

        model = warm_seconds(forward, args.warm_runs)

    figures = {
        "csv": str(args.csv),
        "rows": len(history),
        "series": len(forecaster.series_names),
        "in_len": forecaster.in_len,
        "out_len": forecaster.out_len,
        "threads": args.threads,
        "cold_forecast_s_median": statistics.median(cold),
        "cold_forecast_s_min": min(cold),
        "cold_import_s_median": statistics.median(imports),
        "warm_load_checkpoint_s_median": statistics.median(load),
        "warm_predict_csv_s_median": statistics.median(from_csv),
        "warm_predict_frame_s_median": statistics.median(from_frame),
        "warm_model_forward_s_median": statistics.median(model),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(
        f"{args.csv.name}: {figures['rows']} rows x {figures['series']} series, "
        f"in_len {forecaster.in_len} -> out_len {forecaster.out_len}, {args.threads} thread(s)"
    )
    rows = [
        ("cold: python forecast.py, start to output written", cold, args.cold_runs),
        ("  of which: python -c 'import stanhop.cli.forecast'", imports, args.cold_runs),
        ("warm: Forecaster.load(checkpoint)", load, 3),
        ("warm: predict(CSV path), reading and checking it", from_csv, args.warm_runs),
        ("warm: predict(DataFrame)", from_frame, args.warm_runs),
        ("warm: model forward alone", model, args.warm_runs),
    ]
    for label, times, n in rows:
        print(f"{label:<52} median {statistics.median(times) * 1000:8.1f} ms  (n={n})")


if __name__ == "__main__":
    main()
