"""Every example plans, applies, and then plans empty against its sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

EXAMPLES = [
    "segments.yaml.example",
    "examples/single-site/segments.yaml",
    "examples/multi-site/segments.yaml",
    "examples/bulk-segments/segments.yaml",
]


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_converges(example: str, project: Path, run) -> None:
    config = str(project / example)
    first = run("plan", "-c", config, "--detailed-exitcode")
    assert first.code == 2, first.err + first.out
    assert "Plan:" in first.out

    applied = run("apply", "-c", config, "--auto-approve")
    assert applied.code == 0, applied.err + applied.out

    second = run("plan", "-c", config, "--detailed-exitcode")
    assert second.code == 0, second.err + second.out
    assert "No changes." in second.out


@pytest.mark.parametrize("fmt", ["json", "markdown", "html"])
def test_example_plan_formats(fmt: str, project: Path, run) -> None:
    result = run("plan", "-c", str(project / "segments.yaml.example"), "--format", fmt)
    assert result.code == 0, result.err
    if fmt == "json":
        assert json.loads(result.out)["format_version"] == 1
    elif fmt == "markdown":
        assert "|" in result.out
    else:
        assert result.out.lstrip().lower().startswith("<!doctype html")


def test_saved_plan_applies_then_converges(project: Path, run, tmp_path: Path) -> None:
    config = str(project / "segments.yaml.example")
    plan_file = tmp_path / "plan.json"
    assert run("plan", "-c", config, "--out", str(plan_file)).code == 0
    assert "token" not in plan_file.read_text().lower()
    applied = run("apply", str(plan_file), "-c", config)
    assert applied.code == 0, applied.err + applied.out
    assert run("plan", "-c", config, "--detailed-exitcode").code == 0
