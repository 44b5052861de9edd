"""Train, validate and test a forecaster: `python train.py [group=option ...] [key=value ...]`.

The configuration lives in conf/ (see README.md); the command is stanhop.cli.train (also
installed as `stanhop-train`), the work stanhop.training.train.train.
"""

from stanhop.cli.train import main

if __name__ == "__main__":
    main()
