"""The CI recipes only use plutoctl commands and options that exist."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import click
import pytest
import yaml

from plutoctl.cli import cli

ROOT = Path(__file__).resolve().parents[2]
RECIPES = [*sorted((ROOT / "examples/ci").glob("*.yml")), ROOT / ".pre-commit-hooks.yaml"]
INVOCATION = re.compile(r"\bplutoctl\s+[^|;&>\n)]*")
ROOT_OPTIONS = {"--version", "--debug", "--color", "--no-color", "-h", "--help"}


COMMAND_KEYS = {"run", "script", "before_script", "entry"}


def strings_in(node: object, *, is_command: bool = False) -> list[str]:
    """Return every command string (under run/script/entry keys) in a parsed YAML document."""
    if isinstance(node, str):
        return [node] if is_command else []
    if isinstance(node, dict):
        return [
            s
            for key, value in node.items()
            for s in strings_in(value, is_command=is_command or key in COMMAND_KEYS)
        ]
    if isinstance(node, list):
        return [s for item in node for s in strings_in(item, is_command=is_command)]
    return []


def invocations(path: Path) -> list[list[str]]:
    """Return every ``plutoctl …`` command line in a recipe, split into words."""
    found = []
    for text in strings_in(yaml.safe_load(path.read_text(encoding="utf-8"))):
        text = text.replace("\\\n", " ")  # shell line continuations
        for match in INVOCATION.finditer(text):
            words = shlex.split(match.group(0))
            if len(words) > 1 and not words[1].startswith("<"):
                found.append(words[1:])
    return found


def check_invocation(words: list[str]) -> None:
    """Fail unless the subcommand exists and every option it is given is one of its own."""
    while words and words[0] in ROOT_OPTIONS:
        if words[0] in ("--version", "-h", "--help"):
            return
        words = words[1:]
    command = cli.commands.get(words[0])
    assert command is not None, f"no such command: plutoctl {words[0]}"
    ctx = click.Context(command, **cli.context_settings)  # as a real run: -h and --help
    # A shell variable stands for one value: check the option that takes it.
    args = ["VALUE" if w.startswith("$") else w for w in words[1:]]
    command.parse_args(ctx, args)  # raises click.UsageError on an unknown option


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_recipe_commands_exist(recipe: Path) -> None:
    found = invocations(recipe)
    assert found, f"{recipe.name} runs no plutoctl command"
    for words in found:
        check_invocation(words)


def test_check_catches_a_wrong_option() -> None:
    with pytest.raises(click.UsageError):
        check_invocation(["plan", "--no-such-option"])


PLAN_RECIPES = sorted((ROOT / "examples/ci").glob("*.yml"))


def statements(path: Path, start: str) -> list[str]:
    """Return each shell statement of a recipe that starts with ``start``, continuation
    lines (ending in a backslash) joined."""
    found = []
    for text in strings_in(yaml.safe_load(path.read_text(encoding="utf-8"))):
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if line.strip().startswith(start):
                statement = [line]
                while statement[-1].rstrip().endswith("\\") and i + 1 < len(lines):
                    i += 1
                    statement.append(lines[i])
                found.append("\n".join(statement))
    return found


@pytest.mark.parametrize("recipe", PLAN_RECIPES, ids=[p.name for p in PLAN_RECIPES])
def test_a_plan_job_passes_only_no_changes_and_changes(recipe: Path) -> None:
    gates = statements(recipe, 'case "$')
    assert gates, "no exit-code gate found"
    for gate in gates:
        for code in (0, 1, 2, 3, 4, 64, 70, 130):
            shell = subprocess.run(["bash", "-c", f"code={code}; CODE={code}; {gate}"], check=False)
            assert (shell.returncode == 0) is (code in (0, 2)), (gate, code)


@pytest.mark.parametrize("recipe", PLAN_RECIPES, ids=[p.name for p in PLAN_RECIPES])
def test_a_failed_plan_posts_a_comment_that_says_so(recipe: Path, tmp_path: Path) -> None:
    fallbacks = statements(recipe, "[ -s ")
    assert fallbacks, "no fallback for an empty plan found"
    for fallback in fallbacks:
        for name in ("plan.md", "plan-lab.md"):
            (tmp_path / name).write_text("", encoding="utf-8")
        subprocess.run(["bash", "-c", f"code=64; SITE=lab; {fallback}"], cwd=tmp_path, check=True)
        written = [(tmp_path / n).read_text(encoding="utf-8") for n in ("plan.md", "plan-lab.md")]
        assert any("The plan failed (exit 64)" in text for text in written)
        (tmp_path / "plan.md").write_text("## plutoctl plan\n", encoding="utf-8")
        (tmp_path / "plan-lab.md").write_text("## plutoctl plan\n", encoding="utf-8")
        subprocess.run(["bash", "-c", f"code=2; SITE=lab; {fallback}"], cwd=tmp_path, check=True)
        assert (tmp_path / "plan.md").read_text(encoding="utf-8") == "## plutoctl plan\n"
        assert (tmp_path / "plan-lab.md").read_text(encoding="utf-8") == "## plutoctl plan\n"
