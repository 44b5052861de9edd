"""``python -m stanhop.evaluate CHECKPOINT DATA.csv [options]``: the evaluate command (also
installed as ``stanhop-evaluate``); see :mod:`stanhop.cli.evaluate`."""

import sys

from stanhop.cli.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
