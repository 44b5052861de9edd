"""What measures a trained model: activation-outlier taps and metrics, simulated integer
quantisation (observers, bit widths, the torchao backend), prediction intervals,
training-free baselines and backtests, and the reports and dashboards that show them. The
names below are plain torch; the Lightning callbacks
(:mod:`~stanhop.evaluation.outlier_metrics`, :mod:`~stanhop.evaluation.quant_evaluation`,
:mod:`~stanhop.evaluation.conformal_intervals`,
:mod:`~stanhop.evaluation.baseline_metrics`) and the command-line tools are imported from
their modules."""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Each name is imported from its module on first use: the quantisation backend imports
# torchao, which takes seconds, and a forecast that only needs the intervals
# (stanhop.evaluation.conformal) should not wait for it.
_MODULES = {
    "BACKEND": "backend",
    "BitWidths": "bits",
    "ESTIMATORS": "observers",
    "activation_quantizer": "observers",
    "weight_quantizer": "observers",
    "OutlierRecorder": "outliers",
    "aggregate": "outliers",
    "inf_norm": "outliers",
    "kurtosis": "outliers",
    "SimulatedQuantModel": "simulate",
    "TAP_KINDS": "taps",
    "find_taps": "taps",
}

__all__ = sorted(_MODULES)


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return getattr(import_module(f"stanhop.evaluation.{_MODULES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
