"""Outlier metrics and simulated integer quantisation of trained models (plain torch)."""

from stanhop.quant.backend import BACKEND
from stanhop.quant.bits import BitWidths
from stanhop.quant.observers import ESTIMATORS, activation_quantizer, weight_quantizer
from stanhop.quant.outliers import OutlierRecorder, aggregate, inf_norm, kurtosis
from stanhop.quant.simulate import SimulatedQuantModel
from stanhop.quant.taps import TAP_KINDS, find_taps

__all__ = [
    "BACKEND",
    "ESTIMATORS",
    "TAP_KINDS",
    "BitWidths",
    "OutlierRecorder",
    "SimulatedQuantModel",
    "activation_quantizer",
    "aggregate",
    "find_taps",
    "inf_norm",
    "kurtosis",
    "weight_quantizer",
]
