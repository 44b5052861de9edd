"""The forecast command (``stanhop-forecast``, or ``python forecast.py``): a checkpoint and
a CSV of history in, a CSV of forecasts (and optionally a plot) out.

Every mistake a user can make is reported as one line ``error: …`` with exit status 2
and no traceback (``--debug`` shows it; see :mod:`stanhop.cli.common`); the work is done
by :class:`~stanhop.forecast.Forecaster`.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from stanhop.cli.common import (
    CommandParser,
    add_checkpoint_argument,
    add_history_options,
    run_reporting,
    say,
)
from stanhop.data import DataError, DataWarning, to_long
from stanhop.data.memory_windows import windows_from_csv
from stanhop.files.atomic import atomic_open
from stanhop.files.checkpoint import CheckpointError
from stanhop.files.run_dir import best_checkpoint
from stanhop.forecast.errors import ForecastError
from stanhop.forecast.files import (
    STDOUT,
    check_folder_writable,
    check_output,
    default_output,
    writing,
)
from stanhop.forecast.forecaster import Forecaster
from stanhop.forecast.intervals import parse_levels, to_long_with_intervals
from stanhop.forecast.memory import attach_memory
from stanhop.forecast.precision import PRECISIONS
from stanhop.forecast.quantize import CALIBRATION_WINDOWS, INT8

# Failures a user causes (bad input, checkpoint, options, or files that cannot be
# written, and under --strict the warnings about the data); anything else is a bug and
# keeps its traceback.
USER_ERRORS = (DataError, CheckpointError, ForecastError, OSError, DataWarning)

EXAMPLES = """examples:
  forecast.py run/checkpoints/best.ckpt history.csv
  forecast.py run history.csv                      (a run folder: its best checkpoint)
  forecast.py run history.csv --sep ';' --decimal ','
  forecast.py best.ckpt history.csv -o - --horizon 12
  forecast.py best.ckpt history.csv -o forecast.csv --plot forecast.png --force
  forecast.py best.ckpt history.csv --intervals 80,95 --plot forecast.png
  forecast.py best.ckpt history_long.csv --format long --nan-policy interpolate
  forecast.py best.ckpt history.csv --quantize w8a8 --memory events.csv
  forecast.py run train.csv --quantize int8          (integer kernels; saved beside the run)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="stanhop-forecast",
        description=(
            "Forecast the steps after the end of INPUT with the model in CHECKPOINT. The "
            "model reads the last in_len rows; series are matched to the training series "
            "by name, in any order (other columns are ignored, with a warning). The output "
            "has one row per future step, its timestamps continuing INPUT's, and one "
            "column per series in the data's units (long INPUT gives long output)."
        ),
        examples=EXAMPLES,
    )
    add_checkpoint_argument(parser)
    parser.add_argument("input", metavar="INPUT", help="CSV of history (see --format)")
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUTPUT",
        help="CSV to write, or - for standard output (default: INPUT's name with "
        ".forecast.csv, next to it); an existing file is kept unless --force",
    )
    parser.add_argument(
        "--horizon",
        type=int,
        metavar="N",
        help="forecast N steps (default: the trained out_len); beyond out_len the model "
        "forecasts recursively from its own forecasts, with a warning, and intervals cover "
        "the first out_len steps",
    )
    parser.add_argument(
        "--intervals",
        type=_levels,
        metavar="LEVELS",
        help="also write prediction intervals of these levels in percent, e.g. 80,95: "
        "columns SERIES_lo_80, SERIES_hi_80, … (long format: lo_80, hi_80, …), calibrated "
        "on the validation split when the model was trained",
    )
    parser.add_argument(
        "--recalibrate",
        type=int,
        metavar="N",
        help="calibrate the intervals on the model's errors on the N latest windows of INPUT "
        "instead of the validation split (INPUT then needs in_len + out_len + N - 1 rows)",
    )
    parser.add_argument(
        "--plot",
        metavar="PLOT",
        help="also draw history and forecast, one panel per series, "
        "into this image (.png, .pdf, .svg)",
    )
    add_history_options(parser, "INPUT")
    _add_model_options(parser)
    parser.add_argument(
        "--force", action="store_true", help="overwrite existing output files (never INPUT)"
    )
    return parser


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    """The options of what the model reads and how it runs: future values, quantisation,
    precision and memory."""
    parser.add_argument(
        "--future",
        metavar="FILE",
        help="a wide CSV with the known future values of the model's future covariates "
        "over its horizon, and their timestamps (in the --date-column if FILE has it, else "
        "in its first other column); default: the rows of INPUT after its last target value",
    )
    parser.add_argument(
        "--quantize",
        metavar="BITS",
        help="int8: forecast with the integer model (int8 kernels on an x86 CPU), calibrated "
        "on the training-split windows of INPUT and saved beside the checkpoint, or loaded "
        "from there; w8a8 (any W<bits>A<bits>): the simulated-integer model (8-bit grids in "
        "fp32), its ranges calibrated on the windows of INPUT",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="32",
        help="32 (default): fp32, the same digits on every run; bf16: matrix products in "
        "bfloat16 (faster where the hardware runs them natively); auto: bf16 where it does",
    )
    parser.add_argument(
        "--memory",
        metavar="CSV",
        help="Plug-and-Play memory: windows of this history CSV (same series as INPUT) that "
        "the model retrieves from, with no retraining",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    args = build_parser().parse_args(argv)
    return run_reporting(run, args, USER_ERRORS, strict=args.strict)


def run(args: argparse.Namespace) -> None:
    """Check the outputs can be written, forecast, then write the CSV and the plot."""
    input_path, checkpoint = Path(args.input), best_checkpoint(args.checkpoint)
    output = None
    if args.output != STDOUT:
        output = Path(args.output) if args.output else default_output(input_path)
        check_output(output, [input_path, checkpoint], args.force, "-o")
        check_folder_writable(output, "-o")
    plot = Path(args.plot) if args.plot else None
    if plot is not None:
        # matplotlib is imported only when a plot is asked for: it slows the start.
        from stanhop.forecast.plot import plot_format

        plot_format(plot)
        taken = [input_path, checkpoint] + ([output] if output else [])
        check_output(plot, taken, args.force, "--plot")
        check_folder_writable(plot, "--plot")
        if output is not None and plot.resolve() == output.resolve():
            raise ForecastError(f"{plot}: is also the CSV output; give --plot another name")

    int8 = bool(args.quantize) and args.quantize.lower() == INT8
    if args.quantize and not int8:
        _check_bits(args.quantize)
    if int8 and args.memory:
        raise ForecastError(
            "--quantize int8 does not take --memory: the memory would be compiled into the "
            "integer model saved beside the checkpoint; use --quantize w8a8 with --memory"
        )
    forecaster = Forecaster.load(checkpoint, precision=args.precision)
    windows = CALIBRATION_WINDOWS
    if args.recalibrate is not None:
        windows = max(windows, args.recalibrate + forecaster.out_len)
    history = forecaster.read_history(
        input_path, args.date_column, args.nan_policy, args.format, args.sep, args.decimal, windows
    )
    known = forecaster.read_future(
        input_path, args.future, args.date_column, args.sep, args.decimal, args.format
    )
    if args.memory:
        _attach_memory(forecaster, Path(args.memory), args)
    if int8:
        forecaster = _int8(forecaster, input_path, args)
    elif args.quantize:
        forecaster = forecaster.quantized(history, args.quantize)
    if args.recalibrate is not None:
        # after --quantize and --memory: the intervals are then those of the model that forecasts
        forecaster = forecaster.recalibrated(history, args.recalibrate, input_path)
    elif args.intervals and args.memory:
        _warn(
            "the intervals were calibrated on the model without --memory, so they may not "
            "hold their level"
        )
    forecast = forecaster.predict_history(history, args.horizon, input_path, args.intervals, known)

    series = forecaster.targets
    if args.format != "long":
        table = forecast
    else:
        table = to_long_with_intervals(forecast, series) if args.intervals else to_long(forecast)
    index = args.format != "long"
    if output is None:
        table.to_csv(sys.stdout, index=index)
    else:
        with writing(output), atomic_open(output, "w", newline="") as f:
            table.to_csv(f, index=index)
        say(
            f"wrote {output}: {len(forecast)} steps of {len(series)} series"
            + (f" with {_listing(args.intervals)}% intervals" if args.intervals else "")
            + ", "
            f"{forecast.index[0]} to {forecast.index[-1]}"
        )
    if plot is not None:
        from stanhop.forecast.plot import MAX_PANELS, plot_forecast, save_figure

        title = f"{input_path.name}: {len(forecast)}-step forecast from {checkpoint.name}"
        save_figure(plot_forecast(history.iloc[-forecaster.in_len :], forecast, title=title), plot)
        shown = min(len(series), MAX_PANELS)
        say(f"wrote {plot}: {shown} of {len(series)} series shown")


def _levels(text: str) -> tuple[float, ...]:
    try:
        return parse_levels(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _listing(levels: tuple[float, ...]) -> str:
    return ", ".join(f"{level:g}" for level in levels)


def _warn(message: str) -> None:
    warnings.warn(message, DataWarning, stacklevel=2)


def _check_bits(text: str) -> None:
    # Imported here: the quantisation package is slow to import.
    from stanhop.measures.bits import BitWidths

    try:
        BitWidths.parse(text)
    except ValueError as err:
        raise ForecastError(f"--quantize: {err}; or int8 for the real integer model") from err


def _int8(forecaster: Forecaster, input_path: Path, args: argparse.Namespace) -> Forecaster:
    """The integer forecaster: loaded from beside the checkpoint, else calibrated on the
    training split of the whole of INPUT and saved there."""
    saved = forecaster.saved_int8()
    calibration = None
    if saved is None:
        calibration = forecaster.read_history(
            input_path,
            args.date_column,
            args.nan_policy,
            args.format,
            args.sep,
            args.decimal,
            whole=True,
        )
    quantized = forecaster.quantized(calibration, INT8)
    path = quantized.model.path
    say(f"int8 model loaded from {path}" if saved else f"int8 model calibrated and saved: {path}")
    return quantized


def _attach_memory(forecaster: Forecaster, path: Path, args: argparse.Namespace) -> None:
    model = forecaster.model
    windows = windows_from_csv(
        path,
        forecaster.series_names,
        forecaster.scaler,
        forecaster.in_len,
        size=model.cfg.memory.size,
        date_column=args.date_column,
        nan_policy=args.nan_policy,
    )
    try:
        attach_memory(model, windows.to(next(model.parameters()).device))
    except ValueError as err:
        raise ForecastError(f"--memory {path}: {err}") from err


if __name__ == "__main__":
    sys.exit(main())
