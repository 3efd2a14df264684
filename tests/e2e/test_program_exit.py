"""The ``plutoctl`` program ends at once after its work: output flushed, code kept.

``plutoctl.cli.run`` flushes the output and leaves without freeing the heap; these
tests hold it to losing nothing on the way out, through a pipe (block-buffered).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


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
