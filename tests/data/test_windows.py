"""The window cutter and WindowDataset items against direct slicing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from stanhop.data import WindowDataset
from stanhop.data.windows import cut_windows, window_starts

VALUES = np.arange(40, dtype=np.float64).reshape(20, 2)  # (t, c), row r = [2r, 2r + 1]


def test_length_and_items_equal_slices() -> None:
    ds = WindowDataset(VALUES, in_len=5, out_len=3)
    assert len(ds) == 20 - 5 - 3 + 1
    for i in range(len(ds)):
        x, y = ds[i]
        assert x.dtype == y.dtype == torch.float32
        np.testing.assert_array_equal(x.numpy(), VALUES[i : i + 5])
        np.testing.assert_array_equal(y.numpy(), VALUES[i + 5 : i + 8])
    assert ds[len(ds) - 1][1][-1].tolist() == VALUES[-1].tolist()


def test_out_of_range_index() -> None:
    ds = WindowDataset(VALUES, in_len=5, out_len=3)
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_a_single_window_and_too_few_rows() -> None:
    assert len(WindowDataset(VALUES, in_len=15, out_len=5)) == 1
    with pytest.raises(ValueError, match="no window"):
        WindowDataset(VALUES, in_len=15, out_len=6)


def test_batches_in_order_stack_the_windows() -> None:
    ds = WindowDataset(VALUES, in_len=4, out_len=2)
    x, y = next(iter(DataLoader(ds, batch_size=3)))
    assert x.shape == (3, 4, 2) and y.shape == (3, 2, 2)
    np.testing.assert_array_equal(x[2].numpy(), VALUES[2:6])
    np.testing.assert_array_equal(y[2].numpy(), VALUES[6:8])


@pytest.mark.parametrize("kind", [np.asarray, torch.as_tensor])
def test_the_cutter_gives_the_slices_at_every_start_for_numpy_and_torch(kind) -> None:
    starts = np.array([0, 3, 15])
    windows = cut_windows(kind(VALUES), starts, 5)
    assert type(windows) is type(kind(VALUES)) and tuple(windows.shape) == (3, 5, 2)
    for window, start in zip(np.asarray(windows), starts, strict=True):
        np.testing.assert_array_equal(window, VALUES[start : start + 5])
    assert window_starts(20, 5).tolist() == list(range(16))
