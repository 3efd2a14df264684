"""docs/cli.md matches the commands' --help, and every command has an example."""

from __future__ import annotations

import os
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
