"""Activation-outlier metrics (Bondarenko et al., 2023; Hu et al., ICML 2024).

For every sample, over that sample's flattened activation at a tap point:

* kurtosis ``mean((x - μ)⁴) / (σ⁴ + 1e-6)`` with the population σ — not the excess
  kurtosis, so a Gaussian gives ≈ 3 and a few huge outliers give hundreds;
* infinity norm ``max |x|``.

Both are averaged over every sample of the evaluated split. The recorder keeps running
sums only, so memory does not depend on the size of the split.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from stanhop.measures.taps import NOT_PER_SAMPLE, find_taps

KURTOSIS_EPS = 1e-6
# How many activation values of each tap are kept for a histogram of the worst tap.
SAMPLE_SIZE = 4096


def kurtosis(x: torch.Tensor) -> torch.Tensor:
    """``x``: (b, n) → per-row kurtosis (b,), non-excess."""
    centred = x - x.mean(dim=1, keepdim=True)
    variance = centred.pow(2).mean(dim=1)
    return centred.pow(4).mean(dim=1) / (variance.pow(2) + KURTOSIS_EPS)


def inf_norm(x: torch.Tensor) -> torch.Tensor:
    """``x``: (b, n) → per-row ``max |x|`` (b,)."""
    return x.abs().amax(dim=1)


@dataclass
class TapStats:
    """Running sums of per-sample statistics at one tap."""

    kind: str
    kurtosis_sum: float = 0.0
    inf_norm_sum: float = 0.0
    count: int = 0

    @property
    def kurtosis(self) -> float:
        return self.kurtosis_sum / self.count if self.count else float("nan")

    @property
    def inf_norm(self) -> float:
        return self.inf_norm_sum / self.count if self.count else float("nan")


def aggregate(rows: list[dict[str, object]]) -> dict[str, float]:
    """The headline numbers from a per-tap table (as returned by :meth:`table`).

    ``avg_kurtosis`` is the mean over taps, ``max_kurtosis`` and ``max_inf_norm`` the
    maxima over taps, ``max_ffn_inf_norm`` the maximum over MLP taps.
    """
    if not rows:
        return {}
    kurt = [float(row["kurtosis"]) for row in rows]
    norms = [float(row["inf_norm"]) for row in rows]
    result = {
        "avg_kurtosis": sum(kurt) / len(kurt),
        "max_kurtosis": max(kurt),
        "max_inf_norm": max(norms),
    }
    ffn = [float(row["inf_norm"]) for row in rows if row["kind"] == "mlp"]
    if ffn:
        result["max_ffn_inf_norm"] = max(ffn)
    return result


class OutlierRecorder:
    """Forward hooks on every tap point of a model that accumulate outlier statistics.

    Use as a context manager around evaluation forward passes::

        with OutlierRecorder(model) as recorder:
            for x, _ in loader:
                model(x)
        recorder.table()

    Activations are regrouped per sample through the batch size of the model's input:
    every tensor inside the model keeps the batch as its leading (outermost) factor, as
    the ``(b c)`` and ``(b s)`` rearrangements of STanHop-Net do.
    """

    def __init__(self, model: nn.Module, keep_samples: bool = False) -> None:
        self.model = model
        self.taps = find_taps(model)
        self.stats = {name: TapStats(kind) for name, (_, kind) in self.taps.items()}
        self.keep_samples = keep_samples
        self.samples: dict[str, torch.Tensor] = {}
        self._batch_size: int | None = None
        self._paused = 0
        self._handles: list[RemovableHandle] = []

    def __enter__(self) -> OutlierRecorder:
        self._handles.append(self.model.register_forward_pre_hook(self._note_batch))
        for module in self.model.modules():
            if isinstance(module, NOT_PER_SAMPLE):
                self._handles.append(module.register_forward_pre_hook(self._pause))
                self._handles.append(module.register_forward_hook(self._resume))
        for name, (module, _) in self.taps.items():
            self._handles.append(module.register_forward_hook(self._hook(name)))
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _note_batch(self, module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        self._batch_size = args[0].shape[0]

    def _pause(self, module: nn.Module, args: object) -> None:
        self._paused += 1

    def _resume(self, module: nn.Module, args: object, output: object) -> None:
        self._paused -= 1

    def _hook(self, name: str):
        stats = self.stats[name]

        @torch.no_grad()
        def hook(module: nn.Module, args: object, output: torch.Tensor) -> None:
            if self._paused:
                return
            per_sample = output.detach().float().reshape(self._batch_size, -1)
            stats.kurtosis_sum += kurtosis(per_sample).sum().item()
            stats.inf_norm_sum += inf_norm(per_sample).sum().item()
            stats.count += per_sample.shape[0]
            if self.keep_samples and name not in self.samples:
                flat = per_sample.flatten()
                pick = torch.randperm(flat.numel(), device=flat.device)[:SAMPLE_SIZE]
                # Keep the extremes too: a random subset would almost always miss them.
                extremes = flat.abs().topk(min(64, flat.numel())).indices
                self.samples[name] = flat[torch.cat([pick, extremes])].cpu()

        return hook

    def sums(self) -> torch.Tensor:
        """(taps, 3) float64: kurtosis sum, infinity-norm sum, count — to reduce across
        processes before :meth:`load_sums`."""
        return torch.tensor(
            [[s.kurtosis_sum, s.inf_norm_sum, s.count] for s in self.stats.values()],
            dtype=torch.float64,
        ).reshape(len(self.stats), 3)

    def load_sums(self, sums: torch.Tensor) -> None:
        for stats, (k, n, c) in zip(self.stats.values(), sums.tolist(), strict=True):
            stats.kurtosis_sum, stats.inf_norm_sum, stats.count = k, n, int(c)

    def table(self) -> list[dict[str, object]]:
        """One row per tap that saw data: ``tap``, ``kind``, ``kurtosis``, ``inf_norm``,
        ``samples`` (a module the model holds but does not run has no row)."""
        return [
            {
                "tap": name,
                "kind": s.kind,
                "kurtosis": s.kurtosis,
                "inf_norm": s.inf_norm,
                "samples": s.count,
            }
            for name, s in self.stats.items()
            if s.count
        ]
