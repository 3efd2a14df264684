"""Golden tests: every broken config in bad/ gives exactly the problems in its .expected.

Each case is ``bad/NN-name.yaml`` (with any CSV it names beside it) and the output of
``plutoctl validate -c NN-name.yaml`` run from bad/: the exit code, then stderr.
Set PLUTOCTL_REGEN=1 to rewrite the .expected files, then review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from plutoctl.cli import main

BAD = Path(__file__).parent / "bad"
CASES = sorted(BAD.glob("*.yaml"))
REGEN = os.environ.get("PLUTOCTL_REGEN") == "1"


def run_validate(name: str, capsys: pytest.CaptureFixture[str]) -> str:
    code = main(["validate", "-c", name])
    captured = capsys.readouterr()
    return f"exit {code}\n--- stdout\n{captured.out}--- stderr\n{captured.err}"


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30
    assert len(list(BAD.glob("*.csv"))) >= 5


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_bad_config_golden(
    case: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(BAD)
    output = run_validate(case.name, capsys)
    golden = case.with_suffix(".expected")
    if REGEN:
        golden.write_text(output, encoding="utf-8")
    assert golden.exists(), f"no golden file; run with PLUTOCTL_REGEN=1 and review {golden}"
    assert output == golden.read_text(encoding="utf-8")
    assert output.startswith("exit 1\n")


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_every_problem_points_into_a_file(
    case: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(BAD)
    output = run_validate(case.name, capsys)
    problem_lines = [
        line
        for line in output.split("--- stderr\n", 1)[1].splitlines()
        if not line.startswith(("  hint:", "error:"))
    ]
    assert problem_lines
    for line in problem_lines:
        assert line.startswith(case.stem) or line.split(":", 1)[0].endswith(".csv"), line
