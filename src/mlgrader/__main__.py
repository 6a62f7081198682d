"""`python -m mlgrader ...`: the same command line as the `mlgrader` console script."""

import sys

from mlgrader.cli import main

sys.exit(main())
