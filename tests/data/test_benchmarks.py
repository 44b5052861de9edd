"""The benchmark registry against the published protocol and the reference files."""

from __future__ import annotations

import pytest

from stanhop.data import BENCHMARKS, DataError, Split, get_benchmark, infer_freq, read_wide_csv
from stanhop.data.download import sha256_of

# name: (filename, n_series, split) — Crossformer's protocol, written out independently
EXPECTED = {
    "etth1": ("ETTh1.csv", 7, Split(8640, 2880, 2880)),
    "etth2": ("ETTh2.csv", 7, Split(8640, 2880, 2880)),
    "ettm1": ("ETTm1.csv", 7, Split(34560, 11520, 11520)),
    "ettm2": ("ETTm2.csv", 7, Split(34560, 11520, 11520)),
    "wth": ("WTH.csv", 12, Split(20160, 7200, 7200)),
    "ecl": ("electricity.csv", 321, Split(10800, 2160, 2880)),
    "ili": ("national_illness.csv", 7, Split(0.7, 0.1, 0.2)),
    "traffic": ("traffic.csv", 862, Split(0.7, 0.1, 0.2)),
    "exchange": ("exchange_rate.csv", 8, Split(0.7, 0.1, 0.2)),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_benchmark_has_the_standard_settings(name) -> None:
    bench = BENCHMARKS[name]
    assert bench.name.lower() == name
    assert (bench.filename, bench.n_series, bench.split) == EXPECTED[name]
    assert bench.url.startswith("https://")
    assert bench.sha256 is None or len(bench.sha256) == 64


def test_registry_holds_exactly_the_standard_benchmarks() -> None:
    assert set(BENCHMARKS) == set(EXPECTED)


def test_ett_comes_from_the_authors_repository() -> None:
    for name in ("etth1", "etth2", "ettm1", "ettm2"):
        bench = BENCHMARKS[name]
        prefix = "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/"
        assert bench.url == prefix + bench.filename


def test_lookup_ignores_case_and_lists_names_when_unknown() -> None:
    assert get_benchmark("ETTh1") is BENCHMARKS["etth1"]
    with pytest.raises(DataError, match="unknown benchmark 'etth3'; choose one of etth1, etth2"):
        get_benchmark("etth3")


@pytest.mark.parametrize("name", ["etth1", "wth", "ili"])
def test_reference_files_match_the_registry(shared_csv, name) -> None:
    bench = BENCHMARKS[name]
    path = shared_csv(bench.filename)
    assert sha256_of(path) == bench.sha256
    frame = read_wide_csv(path)
    assert frame.shape[1] == bench.n_series
    assert infer_freq(frame.index) == bench.freq
