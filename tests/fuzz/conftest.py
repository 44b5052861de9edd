from tests.forecast.conftest import synthetic_run  # noqa: F401
