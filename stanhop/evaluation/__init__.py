"""What measures a trained model: activation-outlier taps and metrics, simulated integer
quantisation (observers, bit widths, the torchao backend), and the reports and dashboards
that show them. The names below are plain torch; the Lightning callbacks
(:mod:`~stanhop.evaluation.outlier_metrics`, :mod:`~stanhop.evaluation.quant_evaluation`)
and the report tools are imported from their modules."""

from stanhop.evaluation.backend import BACKEND
from stanhop.evaluation.bits import BitWidths
from stanhop.evaluation.observers import ESTIMATORS, activation_quantizer, weight_quantizer
from stanhop.evaluation.outliers import OutlierRecorder, aggregate, inf_norm, kurtosis
from stanhop.evaluation.simulate import SimulatedQuantModel
from stanhop.evaluation.taps import TAP_KINDS, find_taps

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
