"""Third-party messages that tell a stanhop user nothing, silenced one by one, so the
lines that matter (the data summary, warnings about the data, errors) are seen.

Each filter names one message and says why it carries nothing here; everything else,
stanhop's own warnings above all, still shows (tests/training/test_quiet.py checks both).
Importing this module imports neither Lightning nor matplotlib: filters are installed
on logger names and warning texts.
"""

from __future__ import annotations

import logging
import re
import warnings

# Lightning logs through one of these, depending on which of its packages came last.
LIGHTNING_LOGGERS = (
    "lightning.pytorch.utilities.rank_zero",
    "lightning.fabric.utilities.rank_zero",
)

# Log lines dropped every time: Lightning's advertisement for its cloud logger; and
# "Loaded model weights from the checkpoint at X", which repeats the line before it.
DROPPED_LOGS = ("💡 Tip:", "Loaded model weights from the checkpoint at")
# Log lines shown once: validation and test each restore the same best checkpoint.
ONCE_LOGS = ("Restoring states from the checkpoint path at",)
# matplotlib asks for more date ticks than it will draw on a long history; the plot is
# drawn right (stanhop/forecast/plot.py sets its own locator).
MATPLOTLIB_LOGS = {"matplotlib.ticker": ("Locator attempting to generate",)}
# Optuna's report of a trial that Ctrl-C cut off (KeyboardInterrupt's traceback) and its
# "failed with value None" after any failed trial, which the line before it explains:
# stanhop-tune says in one line what was cut off and how to go on.
OPTUNA_LOGGER = "optuna.study._optimize"
OPTUNA_DROPPED = re.compile(
    r"Trial \d+ failed with (parameters: .* because of the following error: "
    r"KeyboardInterrupt\(\)|value None)\.$"
)

# (message regex, category): warnings with nothing for the user to do.
WARNINGS = (
    # The windows are tensors in memory: worker processes would only add start-up time
    # (set data.num_workers where the data loading is slow).
    (r"The '\w+' does not have many workers", UserWarning),
    # Lightning calls an API of torch that torch deprecates: for Lightning to change.
    (r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning),
    # Under mixed precision the parameters stay fp32 master weights, so the summary's
    # 32-bit size estimate it apologises for is the right one.
    (r"Precision [\w-]+ is not supported by the model summary", UserWarning),
)
# Deprecation warnings raised inside these libraries are for their own developers.
LIBRARIES = (
    r"(lightning|lightning_fabric|pytorch_lightning|torch|torchao|hydra|omegaconf|wandb)(\.|$)"
)


class _MessageFilter(logging.Filter):
    """Drops records whose message starts with one of ``dropped``, and repeats of those
    that start with one of ``once``."""

    def __init__(self, dropped: tuple[str, ...], once: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.dropped, self.once = dropped, once
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith(self.dropped):
            return False
        if message.startswith(self.once):
            if message in self.seen:
                return False
            self.seen.add(message)
        return True


class _PatternFilter(logging.Filter):
    """Drops records whose whole message matches ``pattern``."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        super().__init__()
        self.pattern = pattern

    def filter(self, record: logging.LogRecord) -> bool:
        return not self.pattern.fullmatch(record.getMessage())


def silence_noise() -> None:
    """Install the filters (once per process; calling again changes nothing)."""
    for name in LIGHTNING_LOGGERS:
        _install(logging.getLogger(name), DROPPED_LOGS, ONCE_LOGS)
    for name, dropped in MATPLOTLIB_LOGS.items():
        _install(logging.getLogger(name), dropped)
    optuna = logging.getLogger(OPTUNA_LOGGER)
    if not any(isinstance(f, _PatternFilter) for f in optuna.filters):
        optuna.addFilter(_PatternFilter(OPTUNA_DROPPED))
    for message, category in WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=LIBRARIES)
    warnings.filterwarnings("ignore", category=FutureWarning, module=LIBRARIES)


def _install(logger: logging.Logger, dropped: tuple[str, ...], once: tuple[str, ...] = ()):
    if not any(isinstance(f, _MessageFilter) for f in logger.filters):
        logger.addFilter(_MessageFilter(dropped, once))
