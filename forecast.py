"""Forecast from a checkpoint and a CSV: `python forecast.py CHECKPOINT INPUT.csv [options]`.

`python forecast.py --help` lists the options (see also README.md); the work is done by
stanhop.forecast (the same command is installed as `stanhop-forecast`).
"""

import sys

from stanhop.cli.forecast import main

if __name__ == "__main__":
    sys.exit(main())
