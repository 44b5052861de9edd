"""``python -m stanhop.report DIR...``: compare finished runs (see
:mod:`stanhop.evaluation.report`)."""

import sys

from stanhop.evaluation.report import main

if __name__ == "__main__":
    sys.exit(main())
