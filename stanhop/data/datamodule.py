"""The LightningDataModule: a source, split, standardised on the training rows and cut
into windows."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import lightning as L
import numpy as np
import pandas as pd
from torch.utils.data import DataLoader

from stanhop.data.calendar import check_calendar, known_inputs
from stanhop.data.errors import DataError
from stanhop.data.freq import infer_freq
from stanhop.data.loader import ResumableLoader, own_generator
from stanhop.data.long import COVARIATE_COLUMNS
from stanhop.data.regular import check_irregular_policy, regularize
from stanhop.data.scaler import Scaler, warn_constant_series
from stanhop.data.sources import CSVSource, FrameSource, Source
from stanhop.data.splits import Split, check_lengths
from stanhop.data.targets import (
    check_targets,
    covariates_of,
    future_indices,
    indices_of,
    names_of,
)
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
    They are cut in batches of ``eval_batch_size`` (None: ``batch_size``).

    ``targets`` names the columns to forecast (default: all). Every other column is a
    past covariate: it is in every input window ``x`` but not in the targets ``y``, so
    the loss and every metric cover the targets alone.

    ``calendar`` (names of :data:`~stanhop.data.calendar.CALENDAR`) and ``future``
    (covariate columns whose future values are known) make the windows
    ``(x, y, future)``: ``future`` (out_len, f) holds, for the forecast horizon, the
    calendar features' sines and cosines, then the future columns, standardised.

    After :meth:`setup` the attributes ``content_hash`` (of the data as read, see
    :func:`content_hash`), ``n_series`` (all input columns),
    ``series_names``, ``target_names``, ``target_indices`` (None when every column is a
    target), ``covariate_names``, ``scaler`` (of all input columns), ``freq``,
    ``last_train_timestamp`` and ``bounds`` (the row ranges of each split, see
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
        eval_batch_size: int | None = 128,
        seed: int = 0,
        irregular: str = "error",
        targets: list[str] | None = None,
        calendar: Sequence[str] | None = (),
        future: Sequence[str] | None = (),
    ) -> None:
        super().__init__()
        self.targets = names_of(targets)
        self.calendar = check_calendar(names_of(calendar) or [], source.name)
        self.future = names_of(future) or []
        check_irregular_policy(irregular, source.name)
        self.irregular = irregular
        # What regularising the index did, for the run's summary ("" when nothing).
        self.resampled = ""
        self.source = source
        self.in_len, self.out_len = in_len, out_len
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        # Training batches of one size only (a compiled model's graph has one batch size):
        # the last short batch of each shuffled epoch is left out. Set by the run.
        self.drop_last = False
        self.num_workers = num_workers
        self.seed = seed
        self.split = source.split if split is None else Split.parse(split)
        self.datasets: dict[str, WindowDataset] = {}
        # The trained model a fine-tuning run starts from (see
        # stanhop.training.init_from.InitialModel), set by train() before setup.
        self.initial = None
        self.bounds: dict[str, tuple[int, int]] = {}

    @property
    def target_indices(self) -> list[int] | None:
        """The targets' positions among the series (None: every series, in order)."""
        return indices_of(self.series_names, self.target_names)

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
            if name in self.bounds and name not in self.datasets:
                start, stop = self.bounds[name]
                self.datasets[name] = WindowDataset(
                    self._scaled[start:stop],
                    self.in_len,
                    self.out_len,
                    self.target_indices,
                    self._known[start:stop] if self.n_future else None,
                )

    def _load(self) -> None:
        loaded = self.source.load()
        self.content_hash = content_hash(loaded)
        frame, self.resampled = regularize(loaded, self.source.name, self.irregular)
        self.series_names = [str(c) for c in frame.columns]
        shared = frame.attrs.get(COVARIATE_COLUMNS) or []
        targets = self.targets
        if targets is None and shared:
            # a long table's covariate columns are inputs, its series the targets
            targets = [name for name in self.series_names if name not in shared]
        self.target_names = check_targets(self.series_names, targets, self.source.name)
        self.covariate_names = covariates_of(self.series_names, self.target_names)
        future_columns = future_indices(
            self.series_names, self.future, self.target_names, self.source.name
        )
        try:
            bounds = self.split.bounds(len(frame), self.in_len)
        except DataError as err:
            raise DataError(f"{self.source.name}: {err}") from None
        check_lengths(bounds, self.in_len, self.out_len, self.source.name)

        values = frame.to_numpy(dtype=np.float64)
        train_start, train_stop = bounds["train"]
        # A run that fine-tunes a trained model (``initial``, set by train()) must have its
        # series and targets, and may keep its scaler.
        if self.initial is not None:
            self.initial.check_data(self)
        if self.initial is not None and self.initial.scaler is not None:
            self.scaler = self.initial.scaler
        else:
            self.scaler = Scaler.fit(values[train_start:train_stop])
            warn_constant_series(
                values[train_start:train_stop], list(frame.columns), self.source.name
            )
        self._scaled = self.scaler.transform(values).astype(np.float32)
        # Known in advance: the calendar of every row, then the future columns.
        self._known = known_inputs(frame.index, self.calendar, self._scaled[:, future_columns])
        self.n_future = self._known.shape[1]
        self.bounds = bounds
        self.n_series = frame.shape[1]
        self.freq = infer_freq(frame.index)
        self.last_train_timestamp = frame.index[train_stop - 1].isoformat()
        # The zone of the timestamps (None without one): the hours the calendar features
        # were learnt in, which a forecast's timestamps are converted to.
        self.timezone = None if frame.index.tz is None else str(frame.index.tz)
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
        roles = ""
        if self.covariate_names:
            roles = (
                f" (targets {', '.join(self.target_names)}; past covariates "
                f"{', '.join(self.covariate_names)})"
            )
        if self.calendar or self.future:
            known = [*self.calendar, *self.future]
            roles += f", known over the horizon: {', '.join(known)}"
        return (
            f"data {self.source.name}: {self.n_series} series{roles}, frequency "
            f"{self.freq or 'none'}, in_len={self.in_len}, out_len={self.out_len}; "
            + "; ".join(splits)
        )

    def train_dataloader(self) -> ResumableLoader:
        self.setup("fit")
        return ResumableLoader(
            self.datasets["train"],
            self.batch_size,
            self.seed,
            num_workers=self.num_workers,
            drop_last=self.drop_last,
        )

    def val_dataloader(self) -> DataLoader:
        return self._eval_loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._eval_loader("test")

    def has_split(self, name: str) -> bool:
        """Whether the split holds rows (a final fit has no test split; a refit trains
        on every row), after :meth:`setup`."""
        return name in self.bounds

    def _eval_loader(self, name: str) -> DataLoader | list:
        self.setup("validate" if name == "val" else "test")
        if not self.has_split(name):
            return []  # Lightning runs no loop over an empty list of loaders
        return DataLoader(
            self.datasets[name],
            batch_size=self.eval_batch_size,
            shuffle=False,
            num_workers=self.num_workers,
            # keeping workers alive saves re-forking them every epoch
            persistent_workers=self.num_workers > 0,
            generator=own_generator(),
        )


def content_hash(frame: pd.DataFrame) -> str:
    """A digest of ``frame``'s values, timestamps and column names (16 hex digits): equal
    for equal frames wherever they come from, different when any value, timestamp, name
    or the order of the columns differs. What tells the data of two runs apart when no
    file names it (a DataFrame given to ``stanhop.fit``)."""
    rows = pd.util.hash_pandas_object(frame, index=True).to_numpy()
    digest = hashlib.sha256(rows.tobytes())
    digest.update("\0".join(map(str, frame.columns)).encode())
    return digest.hexdigest()[:16]


def from_csv(
    path: str | Path | pd.DataFrame,
    in_len: int,
    out_len: int,
    date_column: str | None = None,
    nan_policy: str = "error",
    split: Split | Mapping[str, float] | None = None,
    batch_size: int = 32,
    eval_batch_size: int | None = 128,
    num_workers: int = 0,
    seed: int = 0,
    irregular: str = "error",
    sep: str = ",",
    decimal: str = ".",
    targets: list[str] | None = None,
    calendar: Sequence[str] | None = (),
    future: Sequence[str] | None = (),
    format: str = "auto",
) -> TimeSeriesDataModule:
    """A datamodule over a CSV file (wide or long, see ``format``), or over a DataFrame
    (:class:`~stanhop.data.sources.FrameSource`; ``sep`` and ``decimal`` then do not
    apply), in one flat call (``conf/data/csv.yaml``)."""
    if isinstance(path, pd.DataFrame):
        source = FrameSource(path, date_column, nan_policy, split, format, covariates=future or ())
    else:
        source = CSVSource(
            path, date_column, nan_policy, split, sep, decimal, format, covariates=future or ()
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
        targets=targets,
        calendar=calendar,
        future=future,
    )
