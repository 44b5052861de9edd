"""The per-run outlier chart stays readable."""

from __future__ import annotations

import itertools

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from stanhop.training.callbacks.outlier_files import outlier_figure


def rows(norms: list[float]) -> list[dict[str, object]]:
    return [
        # Names as long as a deep model's: they narrow the axes the labels share.
        {
            "tap": f"decoder.{i}.block.cross_mlp_res.add",
            "kind": "mlp",
            "kurtosis": 3.0,
            "inf_norm": norm,
        }
        for i, norm in enumerate(norms)
    ]


@pytest.mark.parametrize(
    "norms",
    [[0.3, 1.0, 4.1], [0.25, 0.9, 2.7], [2.1, 3.0, 4.5, 6.8], [1.0, 40.0, 900.0], [4.5, 4.6]],
)
def test_infinity_norm_axis_labels_do_not_overlap(norms):
    """Within a decade Matplotlib labels minor log ticks too; the labels drawn must not
    overlap, and at least two must be drawn so the scale can be read."""
    fig = outlier_figure(rows(norms))
    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # tick labels get their text and place when drawn
    renderer = canvas.get_renderer()
    ax = fig.axes[1]
    lo, hi = ax.get_xlim()
    located = [*ax.xaxis.get_majorticklocs(), *ax.xaxis.get_minorticklocs()]
    drawn = [*ax.get_xticklabels(minor=False), *ax.get_xticklabels(minor=True)]
    labels = [
        label
        for loc, label in zip(located, drawn, strict=True)
        if label.get_visible() and label.get_text() and lo <= loc <= hi
    ]
    boxes = sorted((label.get_window_extent(renderer) for label in labels), key=lambda b: b.x0)
    assert len(boxes) >= 2, [label.get_text() for label in labels]
    for left, right in itertools.pairwise(boxes):
        assert left.x1 <= right.x0, (left, right)
