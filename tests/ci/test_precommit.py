"""The pre-commit hook (.pre-commit-hooks.yaml) runs `plutoctl validate` from this
repository, as `repo: <plutoctl>` in a config repository's .pre-commit-config.yaml."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from ci_helpers import ROOT, commit, make_repo, need_tool

GOOD = """version: 1
sites:
  primary:
    url: https://lms.example.org
    token: ${PLUTO_TOKEN_PRIMARY}
segments:
  dept-sales:
    name: Sales
    members: [ana, ben]
"""


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def try_repo(repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("pre-commit") or need_tool("pre-commit", "pip install pre-commit")
    source = ROOT
    if not (ROOT / ".git").exists():
        pytest.fail(f"{ROOT} is not a git checkout: pre-commit try-repo needs one")
    return subprocess.run(
        [tool, "try-repo", str(source), "plutoctl-validate", "--all-files"],
        cwd=repo,
        env={**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_hook_validates_and_fails_on_a_broken_config(tmp_path: Path, pre_commit_home: Path) -> None:
    repo = make_repo(tmp_path / "config", {"segments.yaml": GOOD})
    good = try_repo(repo, pre_commit_home)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "plutoctl validate" in good.stdout and "Passed" in good.stdout

    commit(repo, {"segments.yaml": GOOD.replace("name: Sales", "nmae: Sales")}, "typo")
    broken = try_repo(repo, pre_commit_home)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "Failed" in broken.stdout and "nmae" in broken.stdout
