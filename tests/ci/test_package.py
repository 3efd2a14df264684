"""The package installs from a pin: wheel and sdist build, the wheel installs in a clean
virtual environment and runs the example plan; the recipes pin this version."""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest
from ci_helpers import ROOT, Dist, job_environment

from plutoctl import __version__

PINNED = re.compile(r"plutoctl==(\d+(?:\.\d+)*)")


def test_installed_wheel_reports_its_version(dist: Dist) -> None:
    proc = subprocess.run(
        [str(dist.bin / "plutoctl"), "--version"], capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip() == f"plutoctl, version {__version__}"
    assert __version__ == "0.2.0"


def test_installed_wheel_runs_the_example_plan(dist: Dist, tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    proc = subprocess.run(
        [str(dist.bin / "plutoctl"), "plan", "-c", "examples/single-site/segments.yaml",
         "--detailed-exitcode"],
        cwd=tmp_path, env=job_environment(dist), capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr  # the sandbox starts empty
    assert "site local:" in proc.stdout


def test_wheel_and_sdist_hold_the_package(dist: Dist) -> None:
    names = zipfile.ZipFile(dist.wheel).namelist()
    assert "plutoctl/py.typed" in names and "plutoctl/cli/sites_cmd.py" in names
    assert any(n.endswith("entry_points.txt") for n in names)
    with tarfile.open(dist.sdist) as sdist:
        members = sdist.getnames()
    prefix = f"plutoctl-{__version__}/"
    assert f"{prefix}pyproject.toml" in members and f"{prefix}plutoctl/__init__.py" in members


@pytest.mark.parametrize(
    "recipe",
    [*sorted((ROOT / "examples/ci").glob("*.yml")), ROOT / ".pre-commit-hooks.yaml"],
    ids=lambda p: p.name,
)
def test_recipes_pin_this_version(recipe: Path) -> None:
    pins = PINNED.findall(recipe.read_text(encoding="utf-8"))
    assert pins, f"{recipe.name} pins no plutoctl version"
    assert set(pins) == {__version__}, f"{recipe.name} pins {pins}; RELEASING.md says update it"
