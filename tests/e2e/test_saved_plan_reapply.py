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


def test_plan_out_says_what_applying_the_saved_plan_would_do(project, run, monkeypatch):
    monkeypatch.chdir(project)
    changes = run("plan", "-c", CONFIG, "--out", "my plan.json")
    assert changes.code == 0
    assert "Saved the plan to my plan.json; apply it with: plutoctl apply 'my plan.json'" in (
        changes.err
    )
    assert run("apply", "my plan.json").code == 0

    empty = run("plan", "-c", CONFIG, "--out", "empty.json")
    assert empty.code == 0
    assert "Saved the plan to empty.json; it holds no changes" in empty.err
    assert "apply it with" not in empty.err

    # The CSV's members dropped from a segment, three of 13: past max_removals 1, refused.
    config = project / CONFIG
    text = config.read_text(encoding="utf-8")
    text = text.replace("members_csv: examples/demo/sales.csv", "")
    config.write_text(text.replace("max_removals: 25%", "max_removals: 1"), "utf-8")
    refused = run("plan", "-c", CONFIG, "--out", "refused.json")
    assert refused.code == 3, refused.out + refused.err
    assert "Saved the plan to refused.json; it is refused as unsafe" in refused.err
    assert "apply it with" not in refused.err
    assert "--site" not in refused.err  # the one site is refused: no other to apply
    assert run("apply", "refused.json").code == 3  # as the message says: nothing applied
    assert run("plan", "-c", CONFIG).code == 3  # the removals still wait for acknowledgement

    config.write_text(
        text.replace("segments:\n", "segments:\n  ghosts: {name: G, members: [no.such.user]}\n"),
        "utf-8",
    )
    errors = run("plan", "-c", CONFIG, "--out", "errors.json")
    assert errors.code == 1, errors.out + errors.err
    assert (
        "errors.json; `plutoctl apply errors.json` applies it to the sites without errors only"
        in errors.err
    )
