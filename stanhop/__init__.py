"""stanhop: multivariate time-series forecasting with STanHop-Net on OutEffHop Hopfield layers."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Forecaster", "__version__", "fit"]


def __getattr__(name: str) -> Any:
    # Loaded on first use, so `import stanhop` (and every subpackage) does not pay for
    # torch until a forecaster is wanted.
    if name == "Forecaster":
        from stanhop.forecast import Forecaster

        return Forecaster
    if name == "fit":
        from stanhop.api import fit

        return fit
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
