"""Lightning callbacks: evaluation beyond the error (outliers, quantization) and the
safety of long runs (non-finite losses, resumable random state)."""

from stanhop.callbacks.finite_loss import NonFiniteLossError, StopOnNonFinite
from stanhop.callbacks.outliers import OutlierMetrics
from stanhop.callbacks.quantization import QuantizationEvaluation
from stanhop.callbacks.rng_state import RNGState

__all__ = [
    "NonFiniteLossError",
    "OutlierMetrics",
    "QuantizationEvaluation",
    "RNGState",
    "StopOnNonFinite",
]
