"""``python -m stanhop.evaluate CHECKPOINT DATA.csv [options]``: the evaluate command (also
installed as ``stanhop-evaluate``); see :mod:`stanhop.evaluation.backtest_cli`."""

import sys

from stanhop.evaluation.backtest_cli import main

if __name__ == "__main__":
    sys.exit(main())
