"""``python -m stanhop.tune``: the tuning command (:mod:`stanhop.cli.tune`)."""

from stanhop.cli.tune import main

main()
