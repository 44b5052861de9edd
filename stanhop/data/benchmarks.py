"""The standard long-horizon forecasting benchmarks: where to get each file, how to check
it, and its standard split.

Splits follow Crossformer (Zhang & Yan, ICLR 2023), whose protocol STanHop-Net reuses:
fixed month counts for ETT, WTH and ECL (a "month" is 30 days), 70/10/20 % for ILI,
Traffic and Exchange.

Sources of the files (see also data/README.md):
- ETT: the authors' repository, github.com/zhouhaoyi/ETDataset, ``ETT-small/``.
- WTH: the Google Drive file linked from the ``dataset`` target of the Informer authors'
  Makefile (github.com/zhouhaoyi/Informer2020); there is no HTTP mirror from the authors.
- ECL, Traffic, Exchange: the Hugging Face copy of the Autoformer/Time-Series-Library
  datasets kept by its authors, huggingface.co/datasets/thuml/Time-Series-Library.
- ILI: huggingface.co/datasets/AutonLab/Timeseries-PILE (``forecasting/autoformer/``),
  whose file is byte-identical to our reference copy; the thuml copy of
  ``national_illness.csv`` differs in its bytes (a different sha256).

Checksums: ETTh1, WTH and ILI are those of our reference copies. ETTh2, ETTm1 and ETTm2
are the sha256 values recorded, identically, by several independent public projects that
also record our ETTh1 value. The others are not pinned (``None``): download then warns
with the sha256 it computed, so that it can be pinned here.
"""

from __future__ import annotations

from dataclasses import dataclass

from stanhop.data.errors import DataError
from stanhop.data.splits import Split

_ETT = "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/"
_THUML = "https://huggingface.co/datasets/thuml/Time-Series-Library/resolve/main/"
_PILE = (
    "https://huggingface.co/datasets/AutonLab/Timeseries-PILE/resolve/main/forecasting/autoformer/"
)
_WTH = "https://drive.google.com/uc?export=download&id=1UBRz-aM_57i_KCC-iaSWoKDPTGGv6EaG"

_HOURS_PER_MONTH = 30 * 24
_RATIOS = Split(0.7, 0.1, 0.2)


@dataclass(frozen=True)
class Benchmark:
    """One benchmark file: ``url`` to fetch ``filename`` from, its ``sha256`` (or
    ``None`` when not pinned), the number of series, the standard split and the pandas
    frequency alias of its timestamps."""

    name: str
    filename: str
    url: str
    sha256: str | None
    n_series: int
    split: Split
    freq: str


def _months(train: int, val: int, test: int, steps_per_month: int) -> Split:
    return Split(train * steps_per_month, val * steps_per_month, test * steps_per_month)


# fmt: off
BENCHMARKS: dict[str, Benchmark] = {
    b.name.lower(): b
    for b in [
        Benchmark(
            "ETTh1", "ETTh1.csv", _ETT + "ETTh1.csv",
            "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066",
            7, _months(12, 4, 4, _HOURS_PER_MONTH), "h",
        ),
        Benchmark(
            "ETTh2", "ETTh2.csv", _ETT + "ETTh2.csv",
            "a3dc2c597b9218c7ce1cd55eb77b283fd459a1d09d753063f944967dd6b9218b",
            7, _months(12, 4, 4, _HOURS_PER_MONTH), "h",
        ),
        Benchmark(
            "ETTm1", "ETTm1.csv", _ETT + "ETTm1.csv",
            "6ce1759b1a18e3328421d5d75fadcb316c449fcd7cec32820c8dafda71986c9e",
            7, _months(12, 4, 4, 4 * _HOURS_PER_MONTH), "15min",
        ),
        Benchmark(
            "ETTm2", "ETTm2.csv", _ETT + "ETTm2.csv",
            "db973ca252c6410a30d0469b13d696cf919648d0f3fd588c60f03fdbdbadd1fd",
            7, _months(12, 4, 4, 4 * _HOURS_PER_MONTH), "15min",
        ),
        Benchmark(
            "WTH", "WTH.csv", _WTH,
            "153fead3ea2a83dc5c4127d3994af6b167322f6f5e292c99491f43a2caf14cd4",
            12, _months(28, 10, 10, _HOURS_PER_MONTH), "h",
        ),
        Benchmark(
            "ECL", "electricity.csv", _THUML + "electricity/electricity.csv", None,
            321, _months(15, 3, 4, _HOURS_PER_MONTH), "h",
        ),
        Benchmark(
            "ILI", "national_illness.csv", _PILE + "national_illness.csv",
            "8594cecb98c6f2f9dc014eca11c4d5d1e38ad5ce6ed0592d4abe65b146fce395",
            7, _RATIOS, "W-TUE",
        ),
        Benchmark(
            "Traffic", "traffic.csv", _THUML + "traffic/traffic.csv", None,
            862, _RATIOS, "h",
        ),
        Benchmark(
            "Exchange", "exchange_rate.csv", _THUML + "exchange_rate/exchange_rate.csv", None,
            8, _RATIOS, "D",
        ),
    ]
}
# fmt: on


def get_benchmark(name: str) -> Benchmark:
    """The benchmark called ``name`` (case-insensitive)."""
    try:
        return BENCHMARKS[name.lower()]
    except KeyError:
        raise DataError(
            f"unknown benchmark {name!r}; choose one of {', '.join(BENCHMARKS)}"
        ) from None
