"""CI-friendly command line: required_version, sites, colour rules, --debug anywhere,
completion of site names and IDs, progress with elapsed time."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from plutoctl import __version__
from plutoctl.apply.report import ProgressEvent
from plutoctl.cli import cli, hoist_global_flags, main
from plutoctl.cli.options import (
    complete_deletable,
    complete_ids,
    complete_ids_of_segments,
    complete_removable,
    complete_sites,
)
from plutoctl.cli.output import use_colour
from plutoctl.cli.progress import ProgressPrinter
from plutoctl.config.required_version import VersionSpecError, parse_constraints, unmet
from plutoctl.errors import PlutoError
from plutoctl.plan.changes.kinds import Step

CONFIG = """version: 1
{extra}sites:
  primary: {{url: "https://lms.example.org", token: "${{PLUTO_TOKEN_PRIMARY}}"}}
  emea: {{url: "https://emea.example.org", token: "${{PLUTO_TOKEN_EMEA}}"}}
segments:
  dept-sales: {{name: Sales, members: [ana]}}
  dept-hr: {{name: HR, members: [ben]}}
courses:
  SAFETY-201: {{groups: {{induction: {{name: Induction, segment: dept-hr}}}}}}
"""


def config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "segments.yaml"
    path.write_text(CONFIG.format(extra=extra), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("spec", "version", "refused"),
    [
        (">=0.2,<0.3", "0.2.0", False),
        (">=0.2,<0.3", "0.3.0", True),
        (">=0.2,<0.3", "0.1.9", True),
        ("~=0.2", "0.9.1", False),
        ("~=0.2", "1.0", True),
        ("~=0.2.1", "0.2.5", False),
        ("~=0.2.1", "0.3.0", True),
        ("==0.2", "0.2.0", False),
        ("!=0.2.0", "0.2.0", True),
        ("0.2.0", "0.2.0", False),
    ],
)
def test_required_version_constraints(spec: str, version: str, refused: bool) -> None:
    assert unmet(spec, version) is refused


@pytest.mark.parametrize("spec", ["", ">=", "latest", ">=0.2,,<1", "~=1"])
def test_unreadable_constraints_are_refused(spec: str) -> None:
    with pytest.raises(VersionSpecError):
        parse_constraints(spec)


def test_config_for_another_version_is_refused_clearly(tmp_path: Path, capsys) -> None:
    path = config(tmp_path, 'required_version: ">=9.0"\n')
    assert main(["validate", "-c", str(path)]) != 0
    err = capsys.readouterr().err
    assert f"requires plutoctl >=9.0, and this is plutoctl {__version__}" in err
    assert "segments.yaml:2" in err
    ok = config(tmp_path, 'required_version: ">=0.2,<0.3"\n')
    assert main(["validate", "-c", str(ok)]) == 0


def test_sites_lists_the_config_sites_as_json(tmp_path: Path, capsys) -> None:
    path = config(tmp_path)
    assert main(["sites", "-c", str(path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == ["primary", "emea"]
    assert main(["sites", "-c", str(path)]) == 0
    assert capsys.readouterr().out == "primary\nemea\n"


def test_debug_and_colour_flags_may_follow_the_command() -> None:
    assert hoist_global_flags(["plan", "-c", "x", "--debug", "--no-color"]) == [
        "--debug", "--no-color", "plan", "-c", "x",
    ]  # fmt: skip
    assert hoist_global_flags(["plan", "--", "--debug"]) == ["plan", "--", "--debug"]


def test_debug_after_the_command_shows_the_traceback(tmp_path: Path) -> None:
    with pytest.raises(PlutoError):
        main(["validate", "-c", str(tmp_path / "missing.yaml"), "--debug"])


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ([], {}, True),  # a terminal
        ([], {"NO_COLOR": "1"}, False),
        ([], {"NO_COLOR": ""}, True),  # no-color.org: set and not empty
        ([], {"TERM": "dumb"}, False),
        ([], {"TERM": "dumb", "FORCE_COLOR": "1"}, True),
        ([], {"FORCE_COLOR": "0"}, False),
        (["--no-color"], {"FORCE_COLOR": "1"}, False),
        (["--color"], {"NO_COLOR": "1"}, True),
    ],
)
def test_colour_rules(monkeypatch, args: list[str], env: dict[str, str], expected: bool) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    seen: list[bool] = []

    @cli.command("colour-probe", hidden=True)
    def probe() -> None:
        seen.append(use_colour(_Tty()))

    try:
        CliRunner().invoke(cli, [*args, "colour-probe"], catch_exceptions=False)
    finally:
        cli.commands.pop("colour-probe")
    assert seen == [expected]


def test_colour_off_when_not_a_terminal(monkeypatch) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    assert use_colour(io.StringIO()) is False


SANDBOX_CONFIG = """version: 1
sites:
  local: {url: "sandbox:site.db"}
segments:
  dept-sales: {name: Sales, members: []}
"""


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--color"], {}), ([], {"FORCE_COLOR": "1"}), (["--no-color"], {"FORCE_COLOR": "1"})],
)
def test_forced_colour_reaches_a_pipe(tmp_path: Path, args: list[str], env: dict[str, str]) -> None:
    """A CI log is a pipe: --color and FORCE_COLOR must colour the plan written to it."""
    path = tmp_path / "segments.yaml"
    path.write_text(SANDBOX_CONFIG, encoding="utf-8")
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    proc = subprocess.run(
        [sys.executable, "-m", "plutoctl", *args, "plan", "-c", str(path)],
        capture_output=True,
        text=True,
        env={**environment, **env},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "dept-sales" in proc.stdout
    assert ("\x1b[" in proc.stdout) is (args != ["--no-color"])


def test_completion_offers_sites_and_ids(tmp_path: Path) -> None:
    path = config(tmp_path)
    ctx = click.Context(cli.commands["plan"])
    ctx.params["config_path"] = path
    param = click.Option(["--x"])
    assert complete_sites(ctx, param, "") == ["primary", "emea"]
    assert complete_sites(ctx, param, "e") == ["emea"]
    assert complete_ids(ctx, param, "dept-") == ["dept-sales", "dept-hr"]
    assert "SAFETY-201" in complete_ids(ctx, param, "")
    assert complete_removable(ctx, param, "S") == ["SAFETY-201/induction", "SAFETY-201"]
    assert complete_deletable(ctx, param, "") == ["dept-sales", "dept-hr", "SAFETY-201/induction"]
    assert complete_ids_of_segments(ctx, param, "") == ["dept-sales", "dept-hr"]
    ctx.params["config_path"] = tmp_path / "missing.yaml"
    assert complete_sites(ctx, param, "") == []


def test_shell_completion_end_to_end(tmp_path: Path, monkeypatch) -> None:
    path = config(tmp_path)
    monkeypatch.setenv("_PLUTOCTL_COMPLETE", "bash_complete")
    monkeypatch.setenv("COMP_WORDS", f"plutoctl plan -c {path} --site ")
    monkeypatch.setenv("COMP_CWORD", "5")
    result = CliRunner().invoke(cli, [], prog_name="plutoctl")
    assert "plain,primary" in result.output and "plain,emea" in result.output


def test_progress_lines_carry_elapsed_time_and_never_call_a_failed_step_complete() -> None:
    ticks = iter([0.0, 1.5, 2.0, 3.25])
    out = io.StringIO()
    printer = ProgressPrinter(out, is_tty=False, clock=lambda: next(ticks))
    step = Step.REMOVE_SEGMENT_MEMBERS
    printer(ProgressEvent("lab", step, 0, 10))
    printer(ProgressEvent("lab", step, 5, 10))
    printer(ProgressEvent("lab", step, 7, 10, failed=3, ended=True))
    lines = out.getvalue().splitlines()
    assert lines[0] == "  [   1.5s] lab: remove segment members 0/10"
    assert lines[-1].startswith("  [   3.2s] lab: remove segment members 7/10")
    assert "3 failed or not sent: step not complete" in lines[-1]
    assert not ProgressEvent("lab", step, 7, 10, failed=3, ended=True).is_complete


def test_dumb_terminal_gets_plain_lines(monkeypatch) -> None:
    monkeypatch.setenv("TERM", "dumb")
    assert ProgressPrinter(_Tty()).is_tty is False
    monkeypatch.setenv("TERM", "xterm")
    assert ProgressPrinter(_Tty()).is_tty is True
