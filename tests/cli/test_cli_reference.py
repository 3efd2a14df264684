"""docs/cli.md matches the commands' --help, and every command has an example."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from plutoctl.cli import cli
from plutoctl.cli.reference import render_reference, walk

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_reference_is_current() -> None:
    text = render_reference(cli)
    if os.environ.get("PLUTOCTL_REGEN"):
        DOC.write_text(text, encoding="utf-8")
    assert DOC.read_text(encoding="utf-8") == text, (
        "docs/cli.md is out of date: PLUTOCTL_REGEN=1 pytest tests/cli/test_cli_reference.py"
    )


@pytest.mark.parametrize(
    "path",
    [p for p, c in walk(cli, ["plutoctl"]) if not hasattr(c, "commands")],
    ids=lambda p: " ".join(p),
)
def test_every_command_has_summary_and_example(path: list[str]) -> None:
    command = cli
    for name in path[1:]:
        command = command.commands[name]  # type: ignore[attr-defined]
    assert command.help and command.help.strip().splitlines()[0].endswith(".")
    assert "Example:" in command.help, f"{' '.join(path)} --help has no example"


@pytest.mark.parametrize("command", [[], ["plan"], ["sandbox", "serve"]], ids=" ".join)
def test_a_wide_terminal_shows_the_help_as_the_reference_writes_it(command: list[str]) -> None:
    """docs/cli.md says it is the help a terminal of 90 columns or more shows."""
    shown = subprocess.run(
        [sys.executable, "-m", "plutoctl", *command, "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "120"},
    ).stdout
    doc = DOC.read_text(encoding="utf-8")
    block = doc[doc.index(f"## {' '.join(['plutoctl', *command])}\n") :]
    block = block[block.index("```\n") + 4 :]
    assert shown.rstrip() == block[: block.index("```")].rstrip()
