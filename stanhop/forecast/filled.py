"""How much of the window a forecast reads was filled by the NaN policy: a forecast from
a window of made-up values looks as confident as any other, so the filled cells are
counted per series, and a series filled over most of the window is warned about (an error
under ``--strict``)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

from stanhop.data import DataNote, DataWarning
from stanhop.data.messages import quoted

# A series with more than this share of the window filled gets a DataWarning, not a note.
MOST_FILLED = 0.5


def window_fill_counts(
    filled: Mapping[str, Sequence[int]], n_rows: int, window: int
) -> dict[str, int]:
    """Per series, how many of the last ``window`` of ``n_rows`` rows were filled, given
    the positions of each series' filled rows (``frame.attrs[FILLED]`` of a reader's
    frame); series with none are left out."""
    start = n_rows - window
    counts = {series: sum(row >= start for row in rows) for series, rows in filled.items()}
    return {series: n for series, n in counts.items() if n}


def report_filled(
    filled: Mapping[str, Sequence[int]],
    n_rows: int,
    window: int,
    nan_policy: str,
    source: str | Path,
) -> None:
    """A :class:`~stanhop.data.DataNote` counting the filled cells of each series in the
    window the model reads; a :class:`~stanhop.data.DataWarning` when more than
    :data:`MOST_FILLED` of a series' window was filled."""
    counts = window_fill_counts(filled, n_rows, window)
    if not counts:
        return
    listed = ", ".join(f"{quoted(s)} {n} of {window}" for s, n in counts.items())
    line = (
        f"{source}: nan_policy={nan_policy} filled cells in the last {window} rows the model "
        f"reads: {listed}"
    )
    most = [s for s, n in counts.items() if n > MOST_FILLED * window]
    if not most:
        warnings.warn(line, DataNote, stacklevel=3)
        return
    warnings.warn(
        f"{line}; more than {MOST_FILLED:.0%} of the window of {len(most)} series is made up, "
        "so their forecast is mostly the filling's (give a history with fewer gaps)",
        DataWarning,
        stacklevel=3,
    )
