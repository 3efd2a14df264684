"""Helpers for end-to-end tests: run the real CLI, in-process or as a subprocess."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from plutoctl.cli import main

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run ``plutoctl ARGS…`` in-process through the real error boundary."""

    def invoke(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(int(code), captured.out, captured.err)

    return invoke


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the example configs and their data, so sandbox databases start fresh."""
    shutil.copy(ROOT / "segments.yaml.example", tmp_path / "segments.yaml.example")
    shutil.copytree(
        ROOT / "examples", tmp_path / "examples", ignore=shutil.ignore_patterns(".plutoctl")
    )
    return tmp_path
