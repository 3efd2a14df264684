"""The ``plutoctl`` program ends at once after its work: output flushed, code kept.

``plutoctl.cli.run`` flushes the output and leaves without freeing the heap; these
tests hold it to losing nothing on the way out, through a pipe (block-buffered).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest

from plutoctl.cli import main, program
from plutoctl.config import LoadedConfig
from plutoctl.plan.changes.plans import Plan
from plutoctl.run.sites import SiteRun


def plutoctl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "plutoctl", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_plan_read_through_a_pipe_is_whole_and_keeps_its_exit_code(project: Path) -> None:
    done = plutoctl(
        "plan",
        "-c",
        "segments.yaml.example",
        "--format",
        "json",
        "--detailed-exitcode",
        cwd=project,
    )
    assert done.returncode == 2, done.stderr
    plan = json.loads(done.stdout)  # cut short, it would not parse
    assert plan["summary"]["members_add"] > 0
    assert done.stderr == ""
    converged = plutoctl("apply", "-c", "segments.yaml.example", "--auto-approve", cwd=project)
    assert converged.returncode == 0, converged.stderr
    again = plutoctl("plan", "-c", "segments.yaml.example", "--detailed-exitcode", cwd=project)
    assert again.returncode == 0, again.stdout + again.stderr


def test_an_error_is_written_out_before_the_program_ends(tmp_path: Path) -> None:
    (tmp_path / "segments.yaml").write_text("version: 1\nsites: [\n")
    done = plutoctl("validate", "-c", "segments.yaml", cwd=tmp_path)
    assert done.returncode == 1
    assert "segments.yaml:3:1: YAML syntax error" in done.stdout + done.stderr
    assert done.stderr.rstrip().endswith("error: 1 problem(s) in the config")


def test_in_process_nothing_is_held(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    assert main(["plan", "-c", "segments.yaml.example", "--format", "json"]) == 0
    assert program.held() == ()


def test_as_the_program_a_plan_holds_its_config_read_and_plan(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    monkeypatch.setattr(program, "_held", [])
    monkeypatch.setattr(program, "_is_ending", False)
    program.end_after_main()
    assert main(["plan", "-c", "segments.yaml.example", "--format", "json"]) == 0
    held = program.held()
    assert [type(value) for value in held] == [LoadedConfig, Plan, dict]
    runs = cast(dict[str, SiteRun], held[2])
    assert runs["demo"].existing is not None
