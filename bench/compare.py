#!/usr/bin/env python3
"""porter's benchmark driver: `bench/compare.py run|conf|ensure` (see
bench/harness/cli.py and bench/README.md). Python's standard library only."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
