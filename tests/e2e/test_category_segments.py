"""A segment that lives in a course category is never moved without being asked.

Moodle's update call takes a cohort's context along with its fields, and no answer
says which category a cohort lives in: updating a category-level segment moves it
to the system context. The plan says so and refuses it unless ``--allow-move ID``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from plutoctl.lms.client import SiteClient

TOKEN_VAR = "PLUTO_TOKEN_CATEGORY"

CONFIG = """\
version: 1
sites:
  lab:
    url: {url}
    token: ${{{var}}}
segments:
  staff:
    name: {name}
    members: [ann, bob]
"""

SYSTEM_CONTEXT = 1


def write_config(tmp_path: Path, url: str, name: str) -> Path:
    path = tmp_path / "segments.yaml"
    path.write_text(CONFIG.format(url=url, var=TOKEN_VAR, name=name), encoding="utf-8")
    return path


def context_of(sandbox, idnumber: str) -> int:
    with sandbox.store.transaction() as db:
        row = db.execute("SELECT contextid FROM cohort WHERE idnumber = ?", (idnumber,)).fetchone()
    return int(row[0])


@pytest.fixture
def site(sandbox, monkeypatch):
    """A site where segment ``staff`` (member: ann) lives in course category 1."""
    for name in ("ann", "bob"):
        sandbox.store.add_user(name)
    cohort = {
        "categorytype": {"type": "id", "value": "1"},
        "name": "Staff",
        "idnumber": "staff",
        "description": "",
    }
    with SiteClient(site="lab", url=sandbox.url, token=sandbox.token) as client:
        client.call("core_cohort_create_cohorts", {"cohorts": [cohort]}, retry_safe=False)
    sandbox.store.add_cohort_members("staff", ["ann"])
    assert context_of(sandbox, "staff") != SYSTEM_CONTEXT
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    return sandbox


def test_membership_of_a_category_segment_is_managed_where_it_is(site, tmp_path, run) -> None:
    config = write_config(tmp_path, site.url, "Staff")
    applied = run("apply", "-c", str(config), "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert site.store.cohort_members("staff") == {"ann", "bob"}
    assert context_of(site, "staff") != SYSTEM_CONTEXT
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0


def test_an_update_that_moves_a_category_segment_is_refused_until_allowed(
    site, tmp_path, run
) -> None:
    config = write_config(tmp_path, site.url, "All staff")
    planned = run("plan", "-c", str(config))
    assert planned.code == 3, planned.out + planned.err
    text = planned.out + planned.err
    assert "lives in a course category" in text and "system context" in text
    assert "--allow-move staff" in text
    refused = run("apply", "-c", str(config), "--auto-approve")
    assert refused.code == 3
    assert context_of(site, "staff") != SYSTEM_CONTEXT
    assert site.store.cohorts()["staff"]["name"] == "Staff"
    saved = tmp_path / "plan.json"
    made = run("plan", "-c", str(config), "--allow-move", "staff", "--out", str(saved))
    assert made.code == 0, made.out + made.err
    assert '"field": "context"' in saved.read_text(encoding="utf-8")
    applied = run("apply", str(saved))
    assert applied.code == 0, applied.out + applied.err
    assert context_of(site, "staff") == SYSTEM_CONTEXT
    assert site.store.cohorts()["staff"]["name"] == "All staff"
    assert site.store.cohort_members("staff") == {"ann", "bob"}
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0


def test_a_token_that_cannot_tell_a_segments_context_never_moves_it_unasked(
    make_sandbox, tmp_path, run, monkeypatch
) -> None:
    """Without core_cohort_search_cohorts no answer says which segments live in a
    category: an update is refused as a possible move, saying which function tells."""
    from plutoctl.sandbox.functions import registry

    full = make_sandbox()
    for name in ("ann", "bob"):
        full.store.add_user(name)
    cohort = {"categorytype": {"type": "id", "value": "1"}, "name": "Staff", "idnumber": "staff"}
    with SiteClient(site="lab", url=full.url, token=full.token) as client:
        client.call("core_cohort_create_cohorts", {"cohorts": [cohort]}, retry_safe=False)
    full.store.add_cohort_members("staff", ["ann", "bob"])
    limited = make_sandbox(
        functions=[f for f in registry() if f != "core_cohort_search_cohorts"],
        store=full.store,
    )
    monkeypatch.setenv(TOKEN_VAR, limited.token)
    planned = run("plan", "-c", str(write_config(tmp_path, limited.url, "All staff")))
    assert planned.code == 3, planned.out + planned.err
    assert "may live in a course category" in planned.out
    assert "core_cohort_search_cohorts" in planned.out
    assert run("apply", "-c", str(tmp_path / "segments.yaml"), "--auto-approve").code == 3
    assert context_of(full, "staff") != SYSTEM_CONTEXT


def test_an_export_says_which_segments_live_in_a_category(site, tmp_path, run) -> None:
    """The config cannot say where a segment lives: an edit of the export would move it."""
    config = write_config(tmp_path, site.url, "Staff")
    out = tmp_path / "exported.yaml"
    exported = run("export", "-c", str(config), "--site", "lab", "--out", str(out))
    assert exported.code == 0, exported.out + exported.err
    assert (
        "warning: 1 segment(s) live in a course category, which a config cannot say: 'staff'"
    ) in exported.err
    assert "--allow-move" in exported.err
    assert run("plan", "-c", str(out), "--detailed-exitcode").code == 0  # round-trips
