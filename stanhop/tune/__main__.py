"""``python -m stanhop.tune``: the tuning command (:mod:`stanhop.tune.cli`)."""

from stanhop.tune.cli import main

main()
