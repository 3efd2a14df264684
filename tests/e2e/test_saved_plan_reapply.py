"""Saved plans: applying one twice, and applying one from another directory."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from plutoctl.sandbox.store import Store

CONFIG = "segments.yaml.example"


def test_reapplying_an_applied_plan_says_the_site_already_matches(project, run, monkeypatch):
    monkeypatch.chdir(project)
    assert run("plan", "-c", CONFIG, "--out", "plan.json").code == 0
    first = run("apply", "plan.json")
    assert first.code == 0, first.err
    again = run("apply", "plan.json")
    assert again.code == 0, again.err
    assert "site demo: already is what the plan makes it" in again.out
    assert "stale" not in again.err and "someone changed" not in again.err
    assert run("plan", "-c", CONFIG, "--detailed-exitcode").code == 0


def test_a_plan_half_undone_since_is_still_stale(project, run, monkeypatch, tmp_path):
    monkeypatch.chdir(project)
    assert run("plan", "-c", CONFIG, "--out", "plan.json").code == 0
    assert run("apply", "plan.json").code == 0
    # Someone else takes out a member the plan added: the site is not what it makes it.
    store = Store(project / ".plutoctl" / "demo.db")
    with store.transaction() as db:
        db.execute(
            "DELETE FROM cohort_members WHERE userid = (SELECT id FROM user WHERE username = ?)",
            ("zoe.clarke",),
        )
    store.close()
    stale = run("apply", "plan.json")
    assert stale.code == 1
    assert "stale" in stale.err
    assert "already is what the plan makes it" not in stale.out


def test_apply_by_absolute_path_from_another_directory_uses_the_plans_config(
    project, run, monkeypatch, tmp_path
):
    monkeypatch.chdir(project)
    assert run("plan", "-c", CONFIG, "--out", "plan.json").code == 0
    saved = json.loads((project / "plan.json").read_text(encoding="utf-8"))
    assert saved["config"] == str((project / CONFIG).resolve())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = run("apply", str(project / "plan.json"))
    assert result.code == 0, result.err
    assert "config file not found" not in result.err
    monkeypatch.chdir(project)
    assert run("plan", "-c", CONFIG, "--detailed-exitcode").code == 0


def test_created_at_has_the_documented_format(project, run, monkeypatch):
    monkeypatch.chdir(project)
    result = run("plan", "-c", CONFIG, "--format", "json")
    created = json.loads(result.out)["created_at"]
    doc = (Path(__file__).parents[2] / "docs" / "plan-format.md").read_text(encoding="utf-8")
    example = re.search(r'"created_at": "([^"]+)"', doc)
    assert example is not None
    shape = re.sub(r"\d", r"\\d", re.escape(example.group(1)))
    assert re.fullmatch(shape, created), (created, example.group(1))


@pytest.fixture(autouse=True)
def _no_colour(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
