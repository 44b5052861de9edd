"""Forecast plots: one panel per series up to the cap, history joined to forecast."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stanhop.forecast import ForecastError
from stanhop.forecast.plot import MAX_PANELS, plot_forecast, save_figure


def frames(n_series: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    columns = [f"s{i}" for i in range(n_series)]
    past = pd.date_range("2020-01-01", periods=10, freq="h")
    future = pd.date_range("2020-01-01 10:00", periods=4, freq="h")
    rng = np.random.default_rng(0)
    return (
        pd.DataFrame(rng.normal(size=(10, n_series)), index=past, columns=columns),
        pd.DataFrame(rng.normal(size=(4, n_series)), index=future, columns=columns),
    )


def test_every_series_gets_a_panel_with_history_then_forecast() -> None:
    history, forecast = frames(3)
    fig = plot_forecast(history, forecast)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["s0", "s1", "s2"]
    past_line, future_line = panels[1].get_lines()[:2]
    np.testing.assert_array_equal(past_line.get_ydata(), history["s1"])
    # the forecast line starts at the last observation, then the forecast
    np.testing.assert_array_equal(
        future_line.get_ydata(), [history["s1"].iloc[-1], *forecast["s1"]]
    )


def test_panels_are_capped_with_a_note() -> None:
    history, forecast = frames(MAX_PANELS + 4)
    fig = plot_forecast(history, forecast)
    assert sum(ax.get_visible() for ax in fig.axes) == MAX_PANELS
    note = fig.get_supxlabel()
    assert f"first {MAX_PANELS} of {MAX_PANELS + 4} series (4 not shown)" in note


def test_saved_in_the_format_of_the_suffix(tmp_path: Path) -> None:
    fig = plot_forecast(*frames(2))
    save_figure(fig, tmp_path / "f.png")
    save_figure(fig, tmp_path / "f.svg")
    assert (tmp_path / "f.png").read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in (tmp_path / "f.svg").read_bytes()[:500]
    with pytest.raises(ForecastError, match="image format"):
        save_figure(fig, tmp_path / "f.nope")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.png", "f.svg"]
