"""What a trained model is measured by, in plain torch and numpy (no Lightning, no
commands): activation-outlier taps and statistics, fake quantization (observers, bit
widths, the torchao backend), real INT8 inference, conformal quantiles for prediction
intervals, and naive baselines. The Lightning callbacks that apply them during a run are in
:mod:`stanhop.training.callbacks`."""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Each name is imported from its module on first use: the quantisation backend imports
# torchao, which takes seconds, and a forecast that only needs the intervals
# (stanhop.measures.conformal) should not wait for it.
_MODULES = {
    "BACKEND": "quant_backend",
    "BitWidths": "bits",
    "ESTIMATORS": "observers",
    "activation_quantizer": "observers",
    "weight_quantizer": "observers",
    "OutlierRecorder": "outliers",
    "aggregate": "outliers",
    "inf_norm": "outliers",
    "kurtosis": "outliers",
    "SimulatedQuantModel": "fake_quant",
    "Int8Error": "int8",
    "Int8Model": "int8",
    "load_int8": "int8",
    "quantize_int8": "int8",
    "TAP_KINDS": "taps",
    "find_taps": "taps",
}

__all__ = sorted(_MODULES)


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return getattr(import_module(f"stanhop.measures.{_MODULES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
