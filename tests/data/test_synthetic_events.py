"""The synthetic generator's recurring events, and which windows they hit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stanhop.data import SyntheticSource, make_synthetic
from stanhop.data.synthetic import event_window_flags, recurring_event_rows


def test_off_by_default_and_the_rest_of_the_data_unchanged_when_on() -> None:
    plain = make_synthetic(n_steps=2000, seed=1)
    pd.testing.assert_frame_equal(make_synthetic(n_steps=2000, seed=1, recurring_events=0), plain)
    assert not recurring_event_rows(n_steps=2000, seed=1).any()
    events = make_synthetic(n_steps=2000, seed=1, recurring_events=3)
    added = (events - plain).to_numpy()
    rows = recurring_event_rows(n_steps=2000, seed=1, recurring_events=3)
    assert rows.any() and not rows.all()
    assert np.all(added[~rows] == 0) and np.all(np.abs(added[rows]).max(axis=1) > 0)


def test_same_seed_same_events() -> None:
    a = make_synthetic(n_steps=2000, seed=2, recurring_events=3)
    pd.testing.assert_frame_equal(a, make_synthetic(n_steps=2000, seed=2, recurring_events=3))


def test_a_few_shapes_recur_unchanged() -> None:
    """Every event is a copy of one of the shapes: the isolated events (no overlap with
    another) fall into at most ``recurring_events`` groups of identical blocks."""
    plain = make_synthetic(n_steps=24 * 365, seed=0)
    added = (make_synthetic(n_steps=24 * 365, seed=0, recurring_events=3) - plain).to_numpy()
    rows = recurring_event_rows(n_steps=24 * 365, seed=0, recurring_events=3)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], rows.astype(int), [0]])))
    runs = [(start, stop) for start, stop in zip(edges[::2], edges[1::2], strict=True)]
    isolated = [added[start:stop] for start, stop in runs if stop - start == 36]
    distinct: list[np.ndarray] = []
    for block in isolated:
        if not any(np.allclose(block, shape) for shape in distinct):
            distinct.append(block)
    assert len(isolated) >= 10 and len(distinct) <= 3
    assert len(distinct) == 3  # with this many events every shape shows up


def test_event_window_flags_match_a_loop_over_windows() -> None:
    rng = np.random.default_rng(0)
    rows = rng.random(200) < 0.05
    in_len, out_len = 12, 5
    expected = [rows[i + in_len : i + in_len + out_len].any() for i in range(200 - 17 + 1)]
    np.testing.assert_array_equal(event_window_flags(rows, in_len, out_len), expected)


def test_source_passes_the_flag_and_reports_its_event_rows() -> None:
    source = SyntheticSource(n_series=3, n_steps=1500, seed=4, recurring_events=2, event_rate=6)
    frame = source.load()
    pd.testing.assert_frame_equal(
        frame, make_synthetic(3, 1500, 4, recurring_events=2, event_rate=6)
    )
    np.testing.assert_array_equal(
        source.event_rows(), recurring_event_rows(3, 1500, 4, recurring_events=2, event_rate=6)
    )
