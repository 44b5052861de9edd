"""``python -m stanhop.report DIR...``: the report command (also installed as
``stanhop-report``), comparing finished runs; see :mod:`stanhop.cli.report`."""

import sys

from stanhop.cli.report import main

if __name__ == "__main__":
    sys.exit(main())
