"""The one boundary in main(): an unexpected exception is a short bug report.

No real input is known to raise one (that is the point), so the test makes a loader
step fail as a bug would. Without --debug: what failed, that it is a bug, how to get
details, exit 70 (ExitCode.BUG), no traceback. With --debug: the traceback too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from plutoctl.cli import main
from plutoctl.errors import ExitCode

GOOD = "version: 1\nsites:\n  demo:\n    url: sandbox:demo.db\n"


def broken_parser(_text: str, _path: str) -> None:
    raise RuntimeError("internal detail that may quote anything")


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr("plutoctl.config.load.parse_yaml", broken_parser)
    path = tmp_path / "segments.yaml"
    path.write_text(GOOD, encoding="utf-8")
    return path


def test_an_unexpected_exception_is_a_short_bug_report(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["validate", "-c", str(config)])
    out, err = capsys.readouterr()
    assert code == ExitCode.BUG == 70
    assert out == ""
    lines = err.splitlines()
    assert lines[0].startswith("error: plutoctl failed unexpectedly (RuntimeError in ")
    assert "this is a bug in plutoctl" in lines[0]
    assert "--debug" in lines[1]
    assert len(lines) == 2
    assert "Traceback" not in err
    assert "internal detail" not in err


def test_with_debug_the_traceback_is_shown(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--debug", "validate", "-c", str(config)])
    err = capsys.readouterr().err
    assert code == ExitCode.BUG
    assert "Traceback" in err
    assert "RuntimeError: internal detail" in err
    assert "this is a bug in plutoctl" in err


def test_every_exit_code_is_an_exit_code_member() -> None:
    assert {c.value for c in ExitCode} >= {0, 1, 2, 3, 4, 64, 70, 130}


def test_the_readme_lists_exactly_the_exit_codes() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Exit codes") :].split("\n## ")[0]
    listed = {int(code) for code in re.findall(r"^\| (\d+) \|", table, re.MULTILINE)}
    assert listed == {code.value for code in ExitCode}
