"""stanhop: multivariate time-series forecasting with STanHop-Net on OutEffHop Hopfield layers."""

__version__ = "0.1.0"
