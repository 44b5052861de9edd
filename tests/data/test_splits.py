"""Split: validation, bounds against hand-computed values, and the benchmark splits."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from stanhop.data import BENCHMARKS, DataError, Split, check_lengths, read_wide_csv


def test_count_bounds_by_hand() -> None:
    # train [0, 100); val and test reach in_len = 10 rows back
    assert Split(100, 20, 30).bounds(200, in_len=10) == {
        "train": (0, 100),
        "val": (90, 120),
        "test": (110, 150),
    }


def test_ratio_bounds_truncate_train_and_test_and_give_val_the_rest() -> None:
    # n = 1001: n_train = int(700.7) = 700, n_test = int(200.2) = 200, n_val = 101
    assert Split(0.7, 0.1, 0.2).bounds(1001, in_len=24) == {
        "train": (0, 700),
        "val": (676, 801),
        "test": (777, 1001),
    }


def test_ratios_summing_below_one_leave_the_rest_to_val_and_test_at_the_end() -> None:
    # n_train = 50, n_test = 20, n_val = 100 - 50 - 20 = 30
    assert Split(0.5, 0.1, 0.2).bounds(100, in_len=5) == {
        "train": (0, 50),
        "val": (45, 80),
        "test": (75, 100),
    }


@pytest.mark.parametrize(
    "sizes",
    [(100, 0, 10), (0.7, 0.1, 20), (0.7, 0.2, 0.2), (0.0, 0.5, 0.5), (1.0, 0.5, 0.5), (True, 1, 1)],
)
def test_invalid_splits_are_rejected(sizes) -> None:
    with pytest.raises(DataError, match="split"):
        Split(*sizes)


def test_parse_accepts_a_split_a_dict_and_hydras_dictconfig() -> None:
    split = Split(10, 5, 5)
    assert Split.parse(split) is split
    assert Split.parse({"train": 10, "val": 5, "test": 5}) == split
    assert Split.parse(OmegaConf.create({"train": 0.6, "val": 0.2, "test": 0.2})).is_ratio


def test_parse_rejects_other_keys() -> None:
    with pytest.raises(DataError, match="train, val, test"):
        Split.parse({"train": 10, "valid": 5, "test": 5})


def test_counts_that_do_not_fit_the_rows() -> None:
    with pytest.raises(DataError, match="needs 160 rows but the data has only 150"):
        Split(100, 30, 30).bounds(150, in_len=10)


def test_train_shorter_than_in_len() -> None:
    with pytest.raises(DataError, match="train split has 70 rows, fewer than in_len=96"):
        Split(0.7, 0.1, 0.2).bounds(100, in_len=96)


def test_check_lengths_names_the_short_split_its_rows_and_the_need() -> None:
    bounds = Split(100, 20, 30).bounds(200, in_len=10)  # val has 30 rows, test 40
    check_lengths(bounds, in_len=10, out_len=20, source_name="x.csv")
    with pytest.raises(DataError) as info:
        check_lengths(bounds, in_len=10, out_len=25, source_name="x.csv")
    message = str(info.value)
    assert message.startswith("x.csv: the val split has 30 rows")
    assert "10 + 25 = 35 are needed" in message


@pytest.mark.parametrize(
    ("name", "n_rows", "in_len", "expected"),
    [
        # 12/4/4 months of 30 days of hours
        ("etth1", 17420, 96, {"train": (0, 8640), "val": (8544, 11520), "test": (11424, 14400)}),
        # 28/10/10 months
        ("wth", 35064, 168, {"train": (0, 20160), "val": (19992, 27360), "test": (27192, 34560)}),
        # 966 weeks: n_train = int(676.2) = 676, n_test = int(193.2) = 193, n_val = 97
        ("ili", 966, 36, {"train": (0, 676), "val": (640, 773), "test": (737, 966)}),
    ],
)
def test_benchmark_bounds_on_the_real_files(shared_csv, name, n_rows, in_len, expected) -> None:
    frame = read_wide_csv(shared_csv(BENCHMARKS[name].filename))
    assert len(frame) == n_rows
    bounds = BENCHMARKS[name].split.bounds(len(frame), in_len)
    assert bounds == expected
    check_lengths(bounds, in_len, 24, name)
