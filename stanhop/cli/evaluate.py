"""The evaluate command (``stanhop-evaluate``, or ``python -m stanhop.evaluate``): a
rolling-origin backtest of a checkpoint on any history holding its series.

Prints the model's errors beside the seasonal-naive and persistence forecasts on the same
windows (and the coverage of its intervals, when the checkpoint has them) and writes the
errors of every window as a CSV (in the current folder unless ``--out``). Every mistake
is one line ``error: …``, exit status 2 (:mod:`stanhop.cli.common`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from stanhop.cli.common import (
    CommandParser,
    add_checkpoint_argument,
    add_history_options,
    run_reporting,
)
from stanhop.data import DataError, DataWarning
from stanhop.files.atomic import atomic_open
from stanhop.files.checkpoint import CheckpointError
from stanhop.files.run_dir import best_checkpoint
from stanhop.forecast.backtest import MODEL, PERSISTENCE, SEASONAL_NAIVE, Backtest, backtest
from stanhop.forecast.errors import ForecastError
from stanhop.forecast.files import check_output, writing
from stanhop.forecast.forecaster import Forecaster
from stanhop.forecast.formats import INPUT_FORMATS
from stanhop.forecast.plot import plot_error_by_step, plot_format, save_figure
from stanhop.forecast.quantize import INT8
from stanhop.measures.conformal import level_name

# DataWarning: the data's warnings, errors under --strict
USER_ERRORS = (DataError, CheckpointError, ForecastError, OSError, DataWarning)

EXAMPLES = """examples:
  stanhop-evaluate run/checkpoints/best.ckpt ETTh1.csv --start 2017-10-20 --stride 24
  stanhop-evaluate best.ckpt history.csv --end 2018-01-01 --out backtest.csv --force
  stanhop-evaluate run history.csv --sep ';' --decimal ','   (a run folder: its best checkpoint)
  stanhop-evaluate run ETTh1.csv --start 2017-10-20 --quantize int8
"""


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="stanhop-evaluate",
        description=(
            "Rolling-origin backtest of the model in CHECKPOINT on DATA: forecast from every "
            "window of DATA (in_len rows in, the next out_len rows scored) whose forecast "
            "lies between --start and --end, and compare with the seasonal-naive and "
            "persistence forecasts on the same windows."
        ),
        examples=EXAMPLES,
    )
    add_checkpoint_argument(parser)
    parser.add_argument("data", metavar="DATA", help="CSV of history with the model's series")
    parser.add_argument("--start", metavar="DATE", help="first forecast timestamp scored")
    parser.add_argument("--end", metavar="DATE", help="last forecast timestamp scored")
    parser.add_argument(
        "--stride",
        type=int,
        default=1,
        metavar="N",
        help="steps between consecutive forecast origins (default: 1, every window)",
    )
    parser.add_argument(
        "--season",
        type=int,
        metavar="N",
        help="steps per season of the seasonal-naive forecast (default: from the "
        "frequency, e.g. 24 for hourly data)",
    )
    parser.add_argument(
        "--recalibrate",
        type=int,
        metavar="N",
        help="draw each window's intervals from the model's errors on the N latest windows "
        "before it, instead of the calibration stored in the checkpoint",
    )
    parser.add_argument(
        "--out",
        metavar="FILE",
        help="CSV of per-window errors (default: DATA's name with .backtest.csv, in the "
        "current folder)",
    )
    parser.add_argument(
        "--forecasts",
        metavar="FILE",
        help="also write every window's forecast as a long CSV: origin, step, timestamp, "
        "series, actual, forecast (and lo_LEVEL, hi_LEVEL with intervals)",
    )
    parser.add_argument(
        "--plot",
        metavar="FILE",
        help="also draw each forecast's error by horizon step into this image (.png, .pdf, .svg)",
    )
    parser.add_argument(
        "--quantize",
        metavar="BITS",
        help="backtest the integer model instead: int8 (int8 kernels on an x86 CPU; saved "
        "beside the checkpoint, or loaded from there) or the simulated w8a8 (any "
        "W<bits>A<bits>); both calibrated on the windows of DATA in the training split only",
    )
    add_history_options(parser, "DATA")
    parser.add_argument("--force", action="store_true", help="overwrite an existing --out")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.stride < 1:
        parser.error(f"--stride must be at least 1, got {args.stride}")
    if args.season is not None and args.season < 1:
        parser.error(f"--season must be at least 1, got {args.season}")
    if args.recalibrate is not None and args.recalibrate < 1:
        parser.error(f"--recalibrate must be at least 1 window, got {args.recalibrate}")
    return run_reporting(run, args, USER_ERRORS, strict=args.strict)


def run(args: argparse.Namespace) -> None:
    data, checkpoint = Path(args.data), best_checkpoint(args.checkpoint)
    # Where the command runs, not beside the data: the user's data folder stays as it is.
    out = Path(args.out) if args.out else Path(f"{data.stem}.backtest.csv")
    check_output(out, [data, checkpoint], args.force, "--out")
    forecasts = Path(args.forecasts) if args.forecasts else None
    if forecasts is not None:
        check_output(forecasts, [data, checkpoint], args.force, "--forecasts")
        if forecasts.resolve() == out.resolve():
            raise ForecastError(f"{forecasts}: is also --out; give --forecasts another name")
    plot = Path(args.plot) if args.plot else None
    if plot is not None:
        plot_format(plot)
        check_output(plot, [data, checkpoint], args.force, "--plot")
        if plot.resolve() in {out.resolve(), forecasts.resolve() if forecasts else None}:
            raise ForecastError(f"{plot}: is also a CSV output; give --plot another name")
    forecaster = Forecaster.load(checkpoint)
    read = INPUT_FORMATS[args.format]
    history = read(
        data,
        args.date_column,
        args.nan_policy,
        forecaster.series_names,
        None,
        args.sep,
        args.decimal,
    )
    if args.quantize:
        forecaster = _quantized(forecaster, history, args.quantize)
    start = _timestamp(args.start, "--start", history.index)
    end = _timestamp(args.end, "--end", history.index)
    if start is not None and end is not None and start > end:
        raise ForecastError(f"--start {args.start} is after --end {args.end}; swap them")
    result = backtest(
        forecaster,
        history,
        start,
        end,
        args.stride,
        args.season,
        data,
        keep_forecasts=forecasts is not None,
        recalibrate=args.recalibrate,
    )
    print(report(result, forecaster, checkpoint, data, args.stride, args.recalibrate))
    with writing(out), atomic_open(out, "w", newline="") as f:
        result.windows.to_csv(f)
    print(f"wrote {out}: the errors of each of the {len(result.windows)} windows")
    if forecasts is not None:
        with writing(forecasts), atomic_open(forecasts, "w", newline="") as f:
            result.forecasts.to_csv(f, index=False)
        print(f"wrote {forecasts}: {len(result.forecasts)} forecast values of every window")
    if plot is not None:
        title = f"{data.name}: error by horizon step, {len(result.windows)} windows"
        save_figure(plot_error_by_step(result.by_step, title), plot)
        print(f"wrote {plot}: the error of each forecast by horizon step")


def _quantized(forecaster: Forecaster, history: pd.DataFrame, bits: str) -> Forecaster:
    """The integer forecaster of ``bits``, calibrated on the training split of ``history``
    (never on the windows the backtest scores, unless they are training windows)."""
    if bits.lower() == INT8:
        saved = forecaster.saved_int8()
        quantized = forecaster.quantized(history, INT8)
        path = quantized.model.path
        print(
            f"int8 model loaded from {path}"
            if saved
            else f"int8 model calibrated and saved: {path}"
        )
        return quantized
    # Imported here: the quantisation package is slow to import.
    from stanhop.measures.bits import BitWidths

    try:
        BitWidths.parse(bits)
    except ValueError as err:
        raise ForecastError(f"--quantize: {err}; or int8 for the real integer model") from err
    return forecaster.quantized(forecaster.training_rows(history), bits)


def report(
    result: Backtest,
    forecaster: Forecaster,
    checkpoint: Path,
    data: Path,
    stride: int,
    recalibrate: int | None = None,
) -> str:
    """The printed summary of a backtest."""
    windows = result.windows
    lines = [
        f"backtest of {checkpoint} on {data}: {len(windows)} windows (stride {stride}), "
        f"forecasts from {windows.index[0]} to {windows['end'].iloc[-1]}, "
        f"in_len {forecaster.in_len} -> out_len {forecaster.out_len}",
        f"{'forecast':<28}{'mse':>10}{'mae':>10}{'mse_orig':>12}{'mae_orig':>12}",
    ]
    labels = {
        MODEL: "model",
        SEASONAL_NAIVE: f"seasonal naive ({result.season} steps)",
        PERSISTENCE: "persistence",
    }
    for name, row in result.summary.iterrows():
        lines.append(
            f"{labels[name]:<28}{row['mse']:>10.4f}{row['mae']:>10.4f}"
            f"{row['mse_orig']:>12.5g}{row['mae_orig']:>12.5g}"
        )
    if result.season is None:
        lines.append("(no seasonal naive: no season of the frequency fits in in_len; see --season)")
    if result.coverage:
        parts = [
            f"{level_name(lv)}% -> {cov:.3f} (mean width {width:.3g})"
            for lv, (cov, width) in result.coverage.items()
        ]
        how = f" (recalibrated on the {recalibrate} windows before each)" if recalibrate else ""
        lines.append(f"interval coverage{how}: " + ", ".join(parts))
    else:
        lines.append("interval coverage: none, the checkpoint has no prediction intervals")
    return "\n".join(lines)


def _timestamp(text: str | None, option: str, index: pd.DatetimeIndex) -> pd.Timestamp | None:
    if text is None:
        return None
    try:
        stamp = pd.Timestamp(text)
    except ValueError:
        raise ForecastError(
            f"{option} {text!r} is not a date; give e.g. 2018-01-31 or '2018-01-31 12:00'"
        ) from None
    # Compare like with like: a date without a zone is taken in the data's own zone.
    if index.tz is not None and stamp.tz is None:
        return stamp.tz_localize(index.tz)
    if index.tz is None and stamp.tz is not None:
        return stamp.tz_convert(None)
    return stamp


if __name__ == "__main__":
    sys.exit(main())
