"""Run plutoctl as ``python -m plutoctl``."""

import sys

from plutoctl.cli import main

sys.exit(main())
