"""Chronological train/validation/test splits, as row counts or as ratios of the rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from stanhop.data.errors import DataError

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Split:
    """Sizes of the three consecutive splits: all row counts (ints), or all ratios
    (floats summing to at most 1). A size of 0 leaves a split out: ``test: 0`` is a final
    fit, which trains on the newest rows and keeps none back for testing; ``val: 0`` too
    (every row trains) is a refit, whose epoch count comes from a validated run.

    Validation and test windows reach ``in_len`` rows back into the split before them, so
    that the first target of each split directly follows the training (or validation)
    rows — the protocol of Informer, Autoformer and Crossformer.
    """

    train: float
    val: float
    test: float

    def __post_init__(self) -> None:
        sizes = [self.train, self.val, self.test]
        # 0 reads as either kind: {train: 0.9, val: 0.1, test: 0}
        given = [s for s in sizes if isinstance(s, bool) or s != 0]
        if self.train == 0 or any(isinstance(s, bool) for s in sizes):
            raise DataError(f"split {self.describe()}: the train split needs rows")
        if self.val == 0 and self.test != 0:
            raise DataError(
                f"split {self.describe()}: a test split needs a validation split before it; "
                "give val a size, or test: 0 too"
            )
        if all(isinstance(s, int) for s in given):
            if min(sizes) < 0:
                raise DataError(f"split {self.describe()}: row counts must be at least 0")
        elif all(isinstance(s, float) for s in given):
            every_row = self.val == 0 and self.train == 1.0
            if not every_row and (not all(0.0 < s < 1.0 for s in given) or sum(sizes) > 1.0 + 1e-9):
                raise DataError(
                    f"split {self.describe()}: ratios must lie in (0, 1) (0 leaves a split "
                    "out) and sum to at most 1"
                )
            if self.val == 0 and not every_row:
                raise DataError(
                    f"split {self.describe()}: with no validation split every row trains; "
                    "give train: 1.0"
                )
        else:
            raise DataError(
                f"split {self.describe()}: give three row counts (e.g. 8640, 2880, 2880) or "
                "three ratios (e.g. 0.7, 0.1, 0.2), not a mixture"
            )

    @classmethod
    def parse(cls, value: Split | Mapping[str, float]) -> Split:
        """A ``Split`` from itself or from a mapping ``{train: …, val: …, test: …}`` (as
        Hydra passes it)."""
        if isinstance(value, Split):
            return value
        if not isinstance(value, Mapping) or set(value) != set(SPLITS):
            raise DataError(
                f"split {value!r}: expected a mapping with exactly the keys train, val, test"
            )
        return cls(**{f.name: value[f.name] for f in fields(cls)})

    @property
    def is_ratio(self) -> bool:
        """True when the sizes are ratios of the rows, False when they are row counts."""
        return isinstance(self.train, float)

    @property
    def names(self) -> tuple[str, ...]:
        """The splits that hold rows: train, then val and test unless left out."""
        return tuple(name for name in SPLITS if name == "train" or getattr(self, name) != 0)

    def describe(self) -> str:
        """``train=…, val=…, test=…``, for messages."""
        return f"train={self.train}, val={self.val}, test={self.test}"

    def bounds(self, n_rows: int, in_len: int) -> dict[str, tuple[int, int]]:
        """Half-open row ranges ``[start, stop)`` of the three splits in a frame of
        ``n_rows`` rows; validation and test start ``in_len`` rows early (see the class
        docstring)."""
        if self.is_ratio:
            # Autoformer's "custom" loader: train and test are truncated to whole rows
            # and validation takes the rest; test sits at the very end of the data.
            n_train, n_test = int(n_rows * self.train), int(n_rows * self.test)
            n_val = n_rows - n_train - n_test
            test_start = n_rows - n_test
        else:
            n_train, n_val, n_test = int(self.train), int(self.val), int(self.test)
            if n_train + n_val + n_test > n_rows:
                raise DataError(
                    f"split {self.describe()} needs {n_train + n_val + n_test} rows but the "
                    f"data has only {n_rows}; use smaller counts or ratios"
                )
            test_start = n_train + n_val
        if n_train < in_len:
            raise DataError(
                f"the train split has {n_train} rows, fewer than in_len={in_len}; use a "
                "shorter in_len or a larger train split"
            )
        bounds = {
            "train": (0, n_train),
            "val": (n_train - in_len, n_train + n_val),
            "test": (test_start - in_len, test_start + n_test),
        }
        return {name: bounds[name] for name in self.names}


def check_lengths(
    bounds: Mapping[str, tuple[int, int]], in_len: int, out_len: int, source_name: str
) -> None:
    """Raise a :class:`DataError` unless every split holds at least one window of
    ``in_len + out_len`` rows."""
    needed = in_len + out_len
    for name in bounds:
        start, stop = bounds[name]
        if stop - start < needed:
            raise DataError(
                f"{source_name}: the {name} split has {stop - start} rows but in_len + "
                f"out_len = {in_len} + {out_len} = {needed} are needed; shorten in_len or "
                f"out_len, or give the {name} split more rows"
            )
