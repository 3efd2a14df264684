"""Run plutoctl as ``python -m plutoctl``."""

from plutoctl.cli import run

run()
