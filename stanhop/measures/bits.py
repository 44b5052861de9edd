"""Bit widths of a simulated integer model, written the usual way: ``W8A8``."""

from __future__ import annotations

import re
from dataclasses import dataclass

_PATTERN = re.compile(r"^w(\d+)a(\d+)$", re.IGNORECASE)
MIN_BITS, MAX_BITS = 2, 16


@dataclass(frozen=True)
class BitWidths:
    """Bits of the weights (symmetric, signed) and of the activations (asymmetric,
    unsigned)."""

    weight: int
    activation: int

    @classmethod
    def parse(cls, text: str) -> BitWidths:
        match = _PATTERN.match(text.strip())
        if not match:
            raise ValueError(f"bit widths {text!r} are not of the form W8A8 (weights, activations)")
        weight, activation = int(match[1]), int(match[2])
        for bits in (weight, activation):
            if not MIN_BITS <= bits <= MAX_BITS:
                raise ValueError(
                    f"bit widths {text!r}: each width must lie in [{MIN_BITS}, {MAX_BITS}]"
                )
        return cls(weight, activation)

    @property
    def name(self) -> str:
        """Lower-case key used in metric names, e.g. ``w8a8``."""
        return f"w{self.weight}a{self.activation}"

    @property
    def weight_range(self) -> tuple[int, int]:
        """Symmetric signed range without the lowest code, e.g. [-127, 127] for 8 bits,
        so that zero is exact and positive and negative weights get the same step."""
        top = 2 ** (self.weight - 1) - 1
        return -top, top

    @property
    def activation_range(self) -> tuple[int, int]:
        """Unsigned range, e.g. [0, 255] for 8 bits."""
        return 0, 2**self.activation - 1
