"""Figures a test module prints after the run, also when the tests run in parallel.

``add_section`` keeps a titled block of lines; the root conftest prints every block
in the terminal summary. Under pytest-xdist a worker's blocks travel to the
controller in its ``workeroutput`` (a worker has no terminal of its own).
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

SECTIONS = pytest.StashKey[list[tuple[str, list[str]]]]()
WORKER_OUTPUT_KEY = "plutoctl_summary_sections"


def add_section(config: pytest.Config, title: str, lines: Iterable[str]) -> None:
    """Print ``lines`` under ``title`` at the end of the session."""
    block = list(lines)
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller prints it
        workeroutput.setdefault(WORKER_OUTPUT_KEY, []).append([title, block])
    else:
        config.stash.setdefault(SECTIONS, []).append((title, block))


def receive(config: pytest.Config, workeroutput: dict[str, object]) -> None:
    """Keep the blocks a finished xdist worker sent (called on the controller)."""
    for title, block in workeroutput.get(WORKER_OUTPUT_KEY, []):  # type: ignore[attr-defined]
        config.stash.setdefault(SECTIONS, []).append((title, list(block)))


def write(config: pytest.Config, reporter: pytest.TerminalReporter) -> None:
    """Write every block kept, in the order the runs ended."""
    for title, block in config.stash.get(SECTIONS, []):
        reporter.section(title)
        for line in block:
            reporter.write_line(line)
