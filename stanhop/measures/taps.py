"""The activations whose outliers matter: where the outlier metrics and the simulated
quantiser look.

Tap points are chosen by module type, not by name, so any model built from these parts
(STanHop-Net, a baseline, a future variant) is covered without listing its layers.
"""

from __future__ import annotations

from torch import nn

from stanhop.model.blocks import MLP, ResidualAdd
from stanhop.model.hopfield import HopfieldLayer
from stanhop.model.memory import WindowMemory

# Module type → kind of tap. A Hopfield layer's output is taken after its output
# projection; a residual sum is the output of the block it closes. Each tapped tensor
# is counted once: a wrapper that returns its inner module's output unchanged (the
# pooling returns its Hopfield layer's retrieval) is not a tap of its own, or the
# averages over taps would weigh that tensor twice.
TAP_KINDS: dict[type[nn.Module], str] = {
    HopfieldLayer: "hopfield",
    MLP: "mlp",
    nn.LayerNorm: "layernorm",
    ResidualAdd: "residual",
}


# Modules whose activations are not laid out per sample: an external memory embeds its K
# windows (through the model's own embedding, a tap) and retrieves with the series, not
# the batch, leading. Nothing inside them is a tap, and the outlier recorder pauses
# while they run.
NOT_PER_SAMPLE: tuple[type[nn.Module], ...] = (WindowMemory,)


def find_taps(model: nn.Module) -> dict[str, tuple[nn.Module, str]]:
    """Every tap point of ``model`` as ``{qualified name: (module, kind)}``, in model order
    (none inside a :data:`NOT_PER_SAMPLE` module)."""
    skipped = [
        f"{name}." for name, module in model.named_modules() if isinstance(module, NOT_PER_SAMPLE)
    ]
    return {
        name: (module, TAP_KINDS[type(module)])
        for name, module in model.named_modules()
        if type(module) in TAP_KINDS and not any(name.startswith(p) for p in skipped)
    }
