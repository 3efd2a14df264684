"""The commands the README and docs/ show are run, and what they print is compared with
what the docs say they print, where it can be (docs/cli.md is checked apart, from --help).

Every ``plutoctl …`` line in a code block is either run here, in a fresh copy of the
examples, or skipped with a reason; a new documented command fails this test until it
is given an expectation.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from plutoctl.cli import cli, main

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def documented_commands() -> dict[str, list[str]]:
    """Return every ``plutoctl …`` command line shown in a code block, with the output
    lines shown right after it in the same block (if any)."""
    found: dict[str, list[str]] = {}
    for page in PAGES:
        if page.name == "cli.md":
            continue
        text = page.read_text(encoding="utf-8")
        for language, block in re.findall(r"```([a-z]*)\n(.*?)```", text, re.DOTALL):
            current: list[str] | None = None
            shows_output = language == ""  # ```sh blocks hold commands only
            for line in block.replace("\\\n", " ").splitlines():
                command = line.split(" # ")[0].strip()
                start = re.search(r"(^|&& )plutoctl ", command)
                if start is None:
                    if shows_output and current is not None and line.strip():
                        current.append(line.strip())
                    continue
                # Shell set-up before the first plutoctl (pip install . && …) is not ours.
                command = command[start.start() :].removeprefix("&& ")
                current = found.setdefault(" ".join(command.split()), [])
    return found


def doc_line(page: str, starts: str) -> str:
    """Return the first line of a page that starts with ``starts``."""
    for line in (ROOT / page).read_text(encoding="utf-8").splitlines():
        if line.startswith(starts):
            return line
    raise AssertionError(f"{page} has no line starting {starts!r}")


def shape(line: str) -> re.Pattern[str]:
    """Return a pattern for a documented output line: any counts, any plural, … any text."""
    pattern = re.escape(line)
    pattern = re.sub(r"\d+\\ (\w+?)s?\b", r"\\d+\\ \1s?", pattern)
    return re.compile(pattern.replace("…", ".*"))


@dataclass(frozen=True)
class Expect:
    code: int = 0
    out: re.Pattern[str] | None = None
    file: str | None = None  # a file the command writes, checked to be there


SKIPPED = {
    "plutoctl sandbox serve --db demo.db --seed examples/demo/users.csv": "serves until Ctrl-C "
    "(tests/sandbox/test_sandbox_cli.py runs serve)",
    "plutoctl sandbox serve --db demo.db --seed users.csv --port 8080": "serves until Ctrl-C, "
    "on a fixed port",
    "plutoctl sandbox seed --generate users=100000,courses=200 --field "
    "'department:menu:Sales|HR|IT|Ops' --db big.db": "100,000 users: benchmarks/ size",
    "plutoctl sandbox seed --generate users=100000,courses=200,cohorts=2000,members=100 "
    "--field 'department:menu:Sales|HR|IT|Ops' --db big.db": "100,000 users: benchmarks/ size",
}

VALIDATE_OK = shape(doc_line("docs/config.md", "OK: "))
EXPECTED = {
    "plutoctl plan -c segments.yaml.example": Expect(out=re.compile(r"Plan: \d+ segments? ")),
    "plutoctl validate": Expect(out=VALIDATE_OK),
    "plutoctl validate -c segments.yaml": Expect(out=VALIDATE_OK),
    "plutoctl plan --out plan.json && plutoctl apply plan.json": Expect(
        out=re.compile(r"^site demo: .*API call")
    ),
    "plutoctl plan --format markdown --detailed-exitcode > plan.md": Expect(code=2, file="plan.md"),
    "plutoctl plan --detailed-exitcode --no-acknowledgements": Expect(code=2),  # drift
    "plutoctl sites --format json": Expect(out=re.compile(r'^\["demo"\]$')),
    "plutoctl schema > plutoctl.schema.json": Expect(file="plutoctl.schema.json"),
    "plutoctl sandbox seed users.csv --db demo.db": Expect(),
    "plutoctl sandbox reset -c segments.yaml.example": Expect(),  # its output is in the docs
}


def test_every_documented_command_is_run_or_skipped_with_a_reason() -> None:
    documented = documented_commands()
    missing = sorted(set(documented) - set(EXPECTED) - set(SKIPPED))
    assert not missing, f"documented commands with no expectation here: {missing}"
    stale = sorted((set(EXPECTED) | set(SKIPPED)) - set(documented))
    assert not stale, f"expectations for commands the docs no longer show: {stale}"


@pytest.fixture
def workdir(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the examples, with the files the docs' commands assume at hand."""
    shutil.copy(project / "segments.yaml.example", project / "segments.yaml")
    shutil.copy(project / "examples" / "demo" / "users.csv", project / "users.csv")
    monkeypatch.chdir(project)
    monkeypatch.setenv("NO_COLOR", "1")
    return project


def run_line(line: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run a documented command line in-process: ``&&`` chains and ``> FILE`` only."""
    code, shown = 0, ""
    for part in line.split(" && "):
        words = shlex.split(part)
        target = None
        if ">" in words:
            at = words.index(">")
            words, target = words[:at], words[at + 1]
        assert words[0] == "plutoctl"
        capsys.readouterr()
        code = int(main(words[1:]))
        out = capsys.readouterr().out
        if target is not None:
            Path(target).write_text(out, encoding="utf-8")
        else:
            shown += out
        if code != 0:
            break
    return code, shown


@pytest.mark.parametrize("line", sorted(EXPECTED))
def test_documented_command_does_what_the_docs_say(
    line: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expect = EXPECTED[line]
    if "reset" in line:  # reset something that exists
        assert run_line("plutoctl plan -c segments.yaml.example", capsys)[0] == 0
    code, out = run_line(line, capsys)
    assert code == expect.code, out
    shown = [shape(text) for text in documented_commands()[line]]
    for pattern in ([expect.out] if expect.out else []) + shown:
        assert any(pattern.search(text) for text in out.splitlines()), (pattern, out)
    if expect.file is not None:
        written = (workdir / expect.file).read_text(encoding="utf-8")
        assert written.strip()
        if expect.file.endswith(".json"):
            json.loads(written)
    if "reset" in line:
        assert not (workdir / ".plutoctl" / "demo.db").exists()
        assert run_line("plutoctl plan -c segments.yaml.example", capsys)[0] == 0  # seeded again


def commands_of(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.update(commands_of(command, f"{prefix}{name} "))
        else:
            found[f"{prefix}{name}"] = command
    return found


def test_the_readme_says_which_commands_take_c() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    sentence = re.search(r"These commands take `-c/--config`[^:]*:(.*?)\.\n", text, re.DOTALL)
    assert sentence is not None, "README should say which commands take -c"
    claimed = set(re.findall(r"`([a-z ]+)`", sentence.group(1)))
    taking_c = {
        name
        for name, command in commands_of(cli).items()
        if any("-c" in param.opts for param in command.params if isinstance(param, click.Option))
    }
    assert claimed == taking_c
    assert "Every command takes `-c" not in text
