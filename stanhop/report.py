"""``python -m stanhop.report DIR...``: compare finished runs (see
:mod:`stanhop.cli.report`)."""

import sys

from stanhop.cli.report import main

if __name__ == "__main__":
    sys.exit(main())
