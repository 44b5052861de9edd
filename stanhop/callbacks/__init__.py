"""Lightning callbacks that evaluate a trained forecaster beyond its error."""

from stanhop.callbacks.outliers import OutlierMetrics
from stanhop.callbacks.quantization import QuantizationEvaluation

__all__ = ["OutlierMetrics", "QuantizationEvaluation"]
