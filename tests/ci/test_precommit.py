"""The pre-commit hook (.pre-commit-hooks.yaml) runs `plutoctl validate` from this
repository, as `repo: <plutoctl>` in a config repository's .pre-commit-config.yaml."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from ci_helpers import ROOT, Dist, commit, git, make_repo, need_tool

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


@dataclass(frozen=True)
class HookRepository:
    """Where pre-commit clones the hook from, and the commit: as `repo:` and `rev:`."""

    url: str
    rev: str


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pre-commit's cache, kept across the runs: the hook's environment is made once."""
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture(scope="module")
def hook_repository(tmp_path_factory: pytest.TempPathFactory) -> HookRepository:
    """This checkout at HEAD; with uncommitted changes, a clone holding them as a commit.

    The same as `pre-commit try-repo` does, so that the hook tested is the working tree's.
    """
    if not (ROOT / ".git").exists():
        pytest.fail(f"{ROOT} is not a git checkout: pre-commit clones the hook from one")
    changes = git(ROOT, "stash", "create")  # a commit of the tracked files; "" if none
    if not changes:
        return HookRepository(url=str(ROOT), rev=git(ROOT, "rev-parse", "HEAD"))
    clone = tmp_path_factory.mktemp("plutoctl-with-changes")
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(ROOT), str(clone)], check=True)
    git(clone, "branch", "with-changes", changes)
    return HookRepository(url=str(clone), rev=changes)


def user_config(hook: HookRepository) -> str:
    """The .pre-commit-config.yaml of docs/ci.md, with this repository and commit."""
    docs = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    match = re.search(r"^## pre-commit\n\n```yaml\n(.*?)^```", docs, re.M | re.S)
    assert match, "docs/ci.md shows no .pre-commit-config.yaml under ## pre-commit"
    config = yaml.safe_load(match.group(1))
    (entry,) = config["repos"]
    entry.update(repo=hook.url, rev=hook.rev)
    return yaml.safe_dump(config, sort_keys=False)


def run_hooks(repo: Path, home: Path, dist: Dist) -> subprocess.CompletedProcess[str]:
    """`pre-commit run --all-files`; pip builds the hook's environment from ``dist``.

    The package index is the built files' directory (``--no-index``, as the recipes'
    jobs install): the wheels the hook's requirements resolve to, and flit_core, which
    pip builds the hook's plutoctl from this repository with.
    """
    tool = shutil.which("pre-commit") or need_tool("pre-commit", "pip install pre-commit")
    return subprocess.run(
        [tool, "run", "--all-files"],
        cwd=repo,
        env={
            **os.environ,
            "PRE_COMMIT_HOME": str(home),
            "PRE_COMMIT_COLOR": "never",
            "PIP_NO_INDEX": "1",
            "PIP_FIND_LINKS": str(dist.directory),
        },
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_hook_validates_and_fails_on_a_broken_config(
    tmp_path: Path, pre_commit_home: Path, hook_repository: HookRepository, dist: Dist
) -> None:
    files = {"segments.yaml": GOOD, ".pre-commit-config.yaml": user_config(hook_repository)}
    repo = make_repo(tmp_path / "config", files)
    good = run_hooks(repo, pre_commit_home, dist)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "plutoctl validate" in good.stdout and "Passed" in good.stdout

    commit(repo, {"segments.yaml": GOOD.replace("name: Sales", "nmae: Sales")}, "typo")
    broken = run_hooks(repo, pre_commit_home, dist)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "Failed" in broken.stdout and "nmae" in broken.stdout
