"""The LightningDataModule: a source, split, standardised on the training rows and cut
into windows."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import lightning as L
import numpy as np
from torch.utils.data import DataLoader

from stanhop.data.errors import DataError
from stanhop.data.freq import infer_freq
from stanhop.data.loader import ResumableLoader, own_generator
from stanhop.data.regular import check_irregular_policy, regularize
from stanhop.data.scaler import Scaler
from stanhop.data.sources import CSVSource, Source
from stanhop.data.splits import Split, check_lengths
from stanhop.data.windows import WindowDataset

SPLITS = ("train", "val", "test")
# The splits each of Lightning's stages reads.
STAGE_SPLITS = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",)}


class TimeSeriesDataModule(L.LightningDataModule):
    """Windows of ``in_len`` input and ``out_len`` target steps over the train, val and
    test splits of ``source``, standardised with a :class:`Scaler` fitted on the training
    rows.

    ``split`` (a :class:`Split` or a mapping ``{train, val, test}``, as Hydra passes it)
    overrides the source's own split. ``irregular`` says what to do with timestamps
    that do not step regularly (``error``, ``warn`` or ``resample``, see
    :func:`~stanhop.data.regular.regularize`). ``seed`` orders the training windows of every
    epoch (see :class:`ResumableLoader`); validation and test windows keep their order
    and, under DDP, every process evaluates all of them, so their metrics are exact.

    After :meth:`setup` the attributes ``n_series``, ``series_names``, ``scaler``,
    ``freq``, ``last_train_timestamp`` and ``bounds`` (the row ranges of each split, see
    :meth:`Split.bounds`) describe the data.
    """

    def __init__(
        self,
        source: Source,
        in_len: int,
        out_len: int,
        batch_size: int = 32,
        num_workers: int = 0,
        split: Split | Mapping[str, float] | None = None,
        eval_batch_size: int | None = None,
        seed: int = 0,
        irregular: str = "error",
    ) -> None:
        super().__init__()
        check_irregular_policy(irregular, source.name)
        self.irregular = irregular
        # What regularising the index did, for the run's summary ("" when nothing).
        self.resampled = ""
        self.source = source
        self.in_len, self.out_len = in_len, out_len
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.split = source.split if split is None else Split.parse(split)
        self.datasets: dict[str, WindowDataset] = {}
        self.bounds: dict[str, tuple[int, int]] = {}

    def prepare_data(self) -> None:
        """Download the source's file if it needs one (Lightning calls this once)."""
        self.source.prepare()

    def setup(self, stage: str | None = None) -> None:
        """Load, split and standardise the data once, then cut the windows of the splits
        ``stage`` needs (:data:`STAGE_SPLITS`; every split for ``None``). A stage that
        never tests (``fit``, ``validate``) never builds the test windows, so a run that
        must not see them (a tuning trial) cannot."""
        if not self.bounds:
            self._load()
        for name in STAGE_SPLITS.get(stage, SPLITS):
            if name not in self.datasets:
                start, stop = self.bounds[name]
                self.datasets[name] = WindowDataset(
                    self._scaled[start:stop], self.in_len, self.out_len
                )

    def _load(self) -> None:
        frame, self.resampled = regularize(self.source.load(), self.source.name, self.irregular)
        try:
            bounds = self.split.bounds(len(frame), self.in_len)
        except DataError as err:
            raise DataError(f"{self.source.name}: {err}") from None
        check_lengths(bounds, self.in_len, self.out_len, self.source.name)

        values = frame.to_numpy(dtype=np.float64)
        train_start, train_stop = bounds["train"]
        self.scaler = Scaler.fit(values[train_start:train_stop])
        self._scaled = self.scaler.transform(values).astype(np.float32)
        self.bounds = bounds
        self.n_series = frame.shape[1]
        self.series_names = [str(c) for c in frame.columns]
        self.freq = infer_freq(frame.index)
        self.last_train_timestamp = frame.index[train_stop - 1].isoformat()
        self.index = frame.index

    def summary(self) -> str:
        """One line describing the data after :meth:`setup`: its source, series and
        frequency, and the rows, windows and dates of each split it built."""
        splits = []
        for name, (start, stop) in self.bounds.items():
            if name not in self.datasets:
                continue
            # validation and test rows begin with in_len rows of the split before them
            own = start if name == "train" else start + self.in_len
            first, last = self.index[own], self.index[stop - 1]
            splits.append(
                f"{name} {stop - own} rows {first} to {last} ({len(self.datasets[name])} windows)"
            )
        return (
            f"data {self.source.name}: {self.n_series} series, frequency {self.freq or 'none'}, "
            f"in_len={self.in_len}, out_len={self.out_len}; " + "; ".join(splits)
        )

    def train_dataloader(self) -> ResumableLoader:
        self.setup("fit")
        return ResumableLoader(
            self.datasets["train"], self.batch_size, self.seed, num_workers=self.num_workers
        )

    def val_dataloader(self) -> DataLoader:
        return self._eval_loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._eval_loader("test")

    def _eval_loader(self, name: str) -> DataLoader:
        self.setup("validate" if name == "val" else "test")
        return DataLoader(
            self.datasets[name],
            batch_size=self.eval_batch_size,
            shuffle=False,
            num_workers=self.num_workers,
            # keeping workers alive saves re-forking them every epoch
            persistent_workers=self.num_workers > 0,
            generator=own_generator(),
        )


def from_csv(
    path: str | Path,
    in_len: int,
    out_len: int,
    date_column: str | None = None,
    nan_policy: str = "error",
    split: Split | Mapping[str, float] | None = None,
    batch_size: int = 32,
    eval_batch_size: int | None = None,
    num_workers: int = 0,
    seed: int = 0,
    irregular: str = "error",
    sep: str = ",",
    decimal: str = ".",
) -> TimeSeriesDataModule:
    """A datamodule over a wide CSV file, in one flat call (``conf/data/csv.yaml``)."""
    source = CSVSource(
        path, date_column=date_column, nan_policy=nan_policy, split=split, sep=sep, decimal=decimal
    )
    return TimeSeriesDataModule(
        source,
        in_len,
        out_len,
        batch_size=batch_size,
        num_workers=num_workers,
        eval_batch_size=eval_batch_size,
        seed=seed,
        irregular=irregular,
    )
