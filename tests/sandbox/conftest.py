"""Sandbox test fixtures: the differential replay's figures at the end of the session."""

from __future__ import annotations

import pytest


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Print the replay's figures when the differential test ran."""
    from test_sandbox_differential import FIGURES_KEY

    figures = config.stash.get(FIGURES_KEY, None)
    if figures is None:
        return
    terminalreporter.section("sandbox vs recorded Moodle 4.5")
    for line in figures.lines():
        terminalreporter.write_line(line)
