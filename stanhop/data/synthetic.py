"""A small synthetic multivariate series with the structure forecasters should exploit."""

from __future__ import annotations

import numpy as np
import pandas as pd

# The synthetic data is hourly.
FREQ = "h"

_DAY, _WEEK, _MONTH = 24, 24 * 7, 24 * 30


def make_synthetic(
    n_series: int = 7,
    n_steps: int = 24 * 7 * 26,
    seed: int = 0,
    start: str = "2024-01-01",
    recurring_events: int = 0,
    event_rate: float = 4.0,
) -> pd.DataFrame:
    """Hourly series ``s0 … s{n-1}`` from ``start`` (index named ``date``); the same seed
    gives the same data.

    Series ``k`` at hour ``t`` is::

        x_k(t) = level_k + A_k sin(2π t/24 + φ_k) + B_k sin(2π t/168 + ψ_k)   daily, weekly
                 + g_k t / n_steps                                            slow trend
                 + c_k z(t - 2k)                                              coupling
                 + e_k(t) + events_k(t)

    - ``z`` is one shared, slowly varying latent factor (AR(1), φ = 0.98, unit variance);
      series ``k`` sees it ``2k`` hours late, so earlier series lead later ones.
    - ``e_k`` is AR(1) noise (φ = 0.7).
    - ``events_k`` adds about three sudden events per series and 30 days, at random
      hours: half are spikes lasting 1–3 hours, half level shifts lasting 1–3 days, each
      2–5 up or down (the daily amplitudes ``A_k`` are 1–3, the noise scale 0.3).
    Amplitudes, phases, trends, couplings and levels are drawn per series from ``seed``.

    ``recurring_events > 0`` adds that many distinct event shapes (see
    :func:`recurring_event_rows`), each reappearing unchanged at random hours, about
    ``event_rate`` events per 30 days in all. They come from their own random stream, so
    the rest of the data is the same as without them.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n_steps)[:, None]  # (t, 1), broadcast against per-series (c,) params
    k = np.arange(n_series)

    def uniform(low: float, high: float) -> np.ndarray:
        return rng.uniform(low, high, n_series)

    level, daily, weekly = uniform(-5, 5), uniform(1.0, 3.0), uniform(0.5, 1.5)
    daily_phase, weekly_phase = uniform(0, 2 * np.pi), uniform(0, 2 * np.pi)
    trend, coupling = uniform(-2, 2), uniform(0.5, 1.5)

    max_lag = 2 * (n_series - 1)
    z = _ar1(rng, phi=0.98, n_steps=n_steps + max_lag, n_series=1)[:, 0]
    # row t of series k reads z at t - 2k, i.e. index t + max_lag - 2k of the longer z
    lagged = z[t + max_lag - 2 * k]

    noise_scale = 0.3
    x = (
        level
        + daily * np.sin(2 * np.pi * t / _DAY + daily_phase)
        + weekly * np.sin(2 * np.pi * t / _WEEK + weekly_phase)
        + trend * t / n_steps
        + coupling * lagged
        + noise_scale * _ar1(rng, phi=0.7, n_steps=n_steps, n_series=n_series)
    )
    for series in k:
        for _ in range(rng.poisson(3 * n_steps / _MONTH)):
            onset = rng.integers(n_steps)
            spike = rng.random() < 0.5
            length = rng.integers(1, 4) if spike else rng.integers(1, 4) * _DAY
            x[onset : onset + length, series] += rng.choice([-1, 1]) * rng.uniform(2, 5)
    x += _recurring_events(n_series, n_steps, seed, recurring_events, event_rate)[0]

    index = pd.date_range(start, periods=n_steps, freq=FREQ, name="date")
    return pd.DataFrame(x, index=index, columns=[f"s{i}" for i in k])


def make_flat_stretches(
    n_steps: int = 24 * 7 * 26, seed: int = 0, start: str = "2024-01-01"
) -> pd.DataFrame:
    """Hourly series with the flat stretches of real sensors and loads (index ``date``):

    - ``wave``: 5 + a daily sine of amplitude 2 + AR(1) noise of scale 0.3, never flat;
    - ``onoff``: a load that is 0 for runs of 2 to 14 days, then steps to a level of 5 to
      15 (noise of scale 0.5) for runs as long;
    - ``stuck``: 10 + a daily sine of amplitude 3 + the same noise, read by a sensor that
      holds its last reading while the load is off (after the first run).

    With RevIN, a window inside a flat stretch has a spread of almost 0, and one that
    ends before a step is followed by a jump of many training standard deviations.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n_steps)
    noise = 0.3 * _ar1(rng, phi=0.7, n_steps=n_steps, n_series=2)
    wave = 5 + 2 * np.sin(2 * np.pi * t / _DAY) + noise[:, 0]
    stuck = 10 + 3 * np.sin(2 * np.pi * t / _DAY + 1) + noise[:, 1]
    onoff = np.zeros(n_steps)
    row, on = 0, False
    while row < n_steps:
        length = int(rng.integers(2 * _DAY, 14 * _DAY))
        if on:
            onoff[row : row + length] = rng.uniform(5, 15) + 0.5 * rng.standard_normal(
                len(onoff[row : row + length])
            )
        elif row > 0:
            # the sensor freezes at its reading when the stretch begins
            stuck[row : row + length] = stuck[row - 1]
        row, on = row + length, not on
    index = pd.date_range(start, periods=n_steps, freq=FREQ, name="date")
    return pd.DataFrame({"wave": wave, "stuck": stuck, "onoff": onoff}, index=index)


def recurring_event_rows(
    n_series: int = 7,
    n_steps: int = 24 * 7 * 26,
    seed: int = 0,
    recurring_events: int = 0,
    event_rate: float = 4.0,
) -> np.ndarray:
    """``(n_steps,)`` bool: the hours during which one of the recurring events of
    ``make_synthetic`` with the same arguments is under way (all False when off)."""
    return _recurring_events(n_series, n_steps, seed, recurring_events, event_rate)[1]


def event_window_flags(event_rows: np.ndarray, in_len: int, out_len: int) -> np.ndarray:
    """Which windows over ``event_rows`` (as :class:`~stanhop.data.WindowDataset` cuts
    them: window ``i`` targets rows ``i + in_len … i + in_len + out_len - 1``) have an
    event in their target: ``(len(event_rows) - in_len - out_len + 1,)`` bool."""
    # counts[j] = events among rows < j, so a window's count is one difference.
    counts = np.concatenate([[0], np.cumsum(np.asarray(event_rows, dtype=bool))])
    n_windows = len(event_rows) - in_len - out_len + 1
    first = np.arange(n_windows) + in_len
    return counts[first + out_len] - counts[first] > 0


_EVENT_LEN = 36  # hours; long enough that a window can show an event's onset and its rest


def _recurring_events(
    n_series: int, n_steps: int, seed: int, n_shapes: int, rate: float
) -> tuple[np.ndarray, np.ndarray]:
    """The recurring events: their sum ``(n_steps, n_series)`` and the hours under way
    ``(n_steps,)`` bool.

    Each shape hits every series at once for ``_EVENT_LEN`` hours: a jump at its onset,
    then a few Gaussian bumps, per series scaled to a peak of 2–5 with a random sign.
    Onsets are uniform over the hours; each event picks one of the shapes at random.
    """
    x = np.zeros((n_steps, n_series))
    rows = np.zeros(n_steps, dtype=bool)
    if n_shapes < 1:
        return x, rows
    # A stream of its own (seed, 1): turning events on leaves the other draws alone.
    rng = np.random.default_rng([seed, 1])
    t = np.arange(_EVENT_LEN)[:, None]
    shapes = []
    for _ in range(n_shapes):
        centres = rng.uniform(0, _EVENT_LEN, 3)
        widths = rng.uniform(1, 6, 3)
        signs = rng.choice([-1.0, 1.0], 3)
        profile = 1.0 + (signs * np.exp(-0.5 * ((t - centres) / widths) ** 2)).sum(axis=1)
        profile /= np.abs(profile).max()
        gains = rng.uniform(2, 5, n_series) * rng.choice([-1.0, 1.0], n_series)
        shapes.append(profile[:, None] * gains)  # (event_len, c)
    for _ in range(rng.poisson(rate * n_steps / _MONTH)):
        onset = rng.integers(n_steps)
        shape = shapes[rng.integers(n_shapes)][: n_steps - onset]
        x[onset : onset + len(shape)] += shape
        rows[onset : onset + len(shape)] = True
    return x, rows


def _ar1(rng: np.random.Generator, phi: float, n_steps: int, n_series: int) -> np.ndarray:
    """AR(1) noise ``(n_steps, n_series)`` with unit stationary variance, started in its
    stationary distribution."""
    shocks = rng.standard_normal((n_steps, n_series)) * np.sqrt(1 - phi**2)
    out = np.empty_like(shocks)
    out[0] = rng.standard_normal(n_series)
    for i in range(1, n_steps):
        out[i] = phi * out[i - 1] + shocks[i]
    return out
