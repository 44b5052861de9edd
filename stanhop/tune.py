"""``python -m stanhop.tune``: the tuning command (:mod:`stanhop.cli.tune`), also installed
as ``stanhop-tune``."""

from stanhop.cli.tune import main

if __name__ == "__main__":
    main()
