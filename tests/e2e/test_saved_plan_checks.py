"""A saved plan file cannot smuggle changes past the safety rules (docs/safety.md).

Each test makes a real plan against a sandbox reached over HTTP, tampers with the
file or the site the way a careless or hostile hand would, and checks that ``apply
PLAN`` refuses it without touching the site, then that the site still converges.

A hand without the site's token cannot seal what it wrote, and is refused by the
seal (the first tests). The others model a hand that holds the token and seals its
edits again (``write_json(..., reseal=token)``): what stops it is the recompute.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from plutoctl.plan.fingerprint import digest
from plutoctl.plan.render.json import plan_from_dict, plan_to_dict
from plutoctl.plan.saved import sealed_content

TOKEN_VAR = "PLUTO_TOKEN_SAVED"

CONFIG = """\
version: 1
sites:
  lab:
    url: {url}
    token: ${{{var}}}
segments:
  team-a:
    name: Team A
    members: [{team_a}]
  team-b:
    name: Team B
    rules:
      - {{field: department, match: exact, value: Sales}}
  team-c:
    name: Team C
    members_csv: staff.csv
courses:
  LAB101:
    groups:
      grp-a:
        name: Group A
        segment: team-a
    enrol:
      - segment: team-a
        role: student
policy:
  max_removals: 25%
  unmanaged_segments: {unmanaged}
"""

USERS = [f"user{i:03d}" for i in range(24)]
SALES = {name for i, name in enumerate(USERS) if i % 3 == 0}


@pytest.fixture
def lab(sandbox, monkeypatch, tmp_path) -> Callable[..., Path]:
    """Seed the sandbox and return a function that writes the config."""
    store = sandbox.store
    store.add_profile_field("department", "menu", options=["Sales", "HR"])
    for i, name in enumerate(USERS):
        dept = "Sales" if name in SALES else "HR"
        store.add_user(name, firstname="U", lastname=str(i), custom={"department": dept})
    store.add_course("LAB101")
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    (tmp_path / "staff.csv").write_text("username\nuser020\nuser021\n", encoding="utf-8")

    def write(*, unmanaged: str = "ignore", team_a: list[str] = USERS[:12]) -> Path:
        path = tmp_path / "segments.yaml"
        text = CONFIG.format(
            url=sandbox.url, var=TOKEN_VAR, team_a=", ".join(team_a), unmanaged=unmanaged
        )
        path.write_text(text, encoding="utf-8")
        return path

    return write


def converge(run, config: Path) -> None:
    applied = run("apply", "-c", str(config), "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0


def saved_plan(run, config: Path, *flags: str) -> tuple[Path, dict[str, Any]]:
    path = config.parent / "plan.json"
    made = run("plan", "-c", str(config), "--out", str(path), *flags)
    assert made.code == 0, made.out + made.err
    return path, json.loads(path.read_text(encoding="utf-8"))


def write_json(path: Path, data: dict[str, Any], *, reseal: str | None) -> None:
    """Write a plan, sealed again with the token ``reseal`` (a hand that holds it).

    Its derived keys (subjects, counts, summaries) are made to fit the edit, as a
    careful hand would make them: what is tested is what stops the edit itself.
    """
    data = plan_to_dict(plan_from_dict(data))
    if reseal is not None:
        data.pop("seals", None)
        content = sealed_content(plan_from_dict(data))
        seal = hmac.new(reseal.encode(), content, hashlib.sha256).hexdigest()
        data["seals"] = {site["site"]: seal for site in data["sites"]}
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def site_of(data: dict[str, Any]) -> dict[str, Any]:
    (site,) = data["sites"]
    return site


def a_pending_change(sandbox) -> None:
    """Make the site differ from the config in one harmless way: a new Sales user."""
    sandbox.store.set_profile("user001", department="Sales")


def a_refused_removal(lab, sandbox, run) -> tuple[Path, dict[str, Any], Path]:
    """A saved plan whose removal of 8 of team-a's 12 members max_removals refused."""
    config = lab()
    converge(run, config)
    config = lab(team_a=USERS[:4])
    path = config.parent / "plan.json"
    assert run("plan", "-c", str(config), "--out", str(path)).code == 3
    return path, json.loads(path.read_text(encoding="utf-8")), config


def test_a_refused_removal_split_under_the_limit_is_refused_by_the_seal(lab, sandbox, run) -> None:
    path, data, config = a_refused_removal(lab, sandbox, run)
    site = site_of(data)
    (removal,) = [r["change"] for r in site["refused"] if r["change"]["idnumber"] == "team-a"]
    assert removal["action"] == "remove_segment_members" and len(removal["usernames"]) == 8
    # Two of the eight, 2 of 12 members: under max_removals (25%) on their own.
    site["changes"].append({**removal, "usernames": removal["usernames"][:2]})
    site["refused"] = []
    write_json(path, data, reseal=None)
    result = run("apply", str(path))
    assert result.code == 1, result.out + result.err
    assert "the saved plan is not the one plutoctl saved for site 'lab'" in result.err
    assert sandbox.store.cohort_members("team-a") == set(USERS[:12])
    done = run("apply", "-c", str(config), "--auto-approve", *ALLOW_BOTH)
    assert done.code == 0, done.out + done.err
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0


ALLOW_BOTH = ("--allow-removals", "team-a", "--allow-removals", "LAB101/grp-a")


def test_an_acknowledgement_written_into_a_plan_is_refused_by_the_seal(lab, sandbox, run) -> None:
    path, data, config = a_refused_removal(lab, sandbox, run)
    # What the acknowledgements would have written, taken from a plan made with them.
    _, allowed = saved_plan(run, config, *ALLOW_BOTH)
    assert site_of(allowed)["acknowledged"]
    for key in ("changes", "refused", "acknowledged"):
        site_of(data)[key] = site_of(allowed)[key]
    data["basis"]["allow_removals"] = allowed["basis"]["allow_removals"]
    write_json(path, data, reseal=None)
    result = run("apply", str(path))
    assert result.code == 1, result.out + result.err
    assert "the saved plan is not the one plutoctl saved" in result.err
    assert sandbox.store.cohort_members("team-a") == set(USERS[:12])


def test_a_user_left_out_of_a_change_is_refused_by_the_seal(lab, sandbox, run) -> None:
    config = lab()
    converge(run, config)
    config = lab(team_a=USERS[:10])  # removes 2 of 12: within max_removals
    path, data = saved_plan(run, config)
    site = site_of(data)
    (removal,) = [c for c in site["changes"] if c["action"] == "remove_segment_members"]
    assert removal["usernames"] == ["user010", "user011"]
    removal["usernames"] = ["user010"]  # user011 would stay
    write_json(path, data, reseal=None)
    result = run("apply", str(path))
    assert result.code == 1, result.out + result.err
    assert "not the one plutoctl saved" in result.err
    assert sandbox.store.cohort_members("team-a") == set(USERS[:12])
    converge(run, config)


def test_a_plan_without_seals_or_with_another_token_is_refused(
    lab, sandbox, run, monkeypatch
) -> None:
    config = lab()
    converge(run, config)
    a_pending_change(sandbox)
    path, data = saved_plan(run, config)
    unsealed = config.parent / "unsealed.json"
    write_json(unsealed, {k: v for k, v in data.items() if k != "seals"}, reseal=None)
    result = run("apply", str(unsealed))
    assert result.code == 1, result.out + result.err
    assert "the saved plan has no seal for site 'lab'" in result.err
    monkeypatch.setenv(TOKEN_VAR, "0" * 32)  # a token rotated since the plan was made
    result = run("apply", str(path))
    assert result.code == 1, result.out + result.err
    assert "or the plan was made with another token for this site" in result.err
    assert sandbox.token not in path.read_text(encoding="utf-8")
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    assert sandbox.store.cohort_members("team-b") == SALES - {"user001"}
    applied = run("apply", str(path))
    assert applied.code == 0, applied.out + applied.err
    assert sandbox.store.cohort_members("team-b") == SALES | {"user001"}
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0


def test_hand_added_removal_of_every_member_is_refused(lab, sandbox, run) -> None:
    config = lab()
    converge(run, config)
    a_pending_change(sandbox)
    path, data = saved_plan(run, config)
    site = site_of(data)
    members = sorted(USERS[:12])
    site["changes"].append(
        {
            "action": "remove_segment_members",
            "idnumber": "team-a",
            "usernames": members,
            "existing_count": 1000,
        }
    )
    # The hand that added the removal also wrote the fingerprint it needs.
    site["fingerprints"]["segment-members:team-a"] = digest(members)
    write_json(path, data, reseal=sandbox.token)
    result = run("apply", str(path))
    assert result.code == 1, result.out + result.err
    assert "stale" in result.err and "segment team-a" in result.err
    assert sandbox.store.cohort_members("team-a") == set(members)
    assert sandbox.store.cohort_members("team-b") == SALES  # nothing of the plan was applied
    converge(run, config)


def test_a_change_without_fingerprint_is_refused(lab, sandbox, run) -> None:
    config = lab()
    converge(run, config)
    a_pending_change(sandbox)
    path, data = saved_plan(run, config)
    site_of(data)["fingerprints"] = {}
    write_json(path, data, reseal=sandbox.token)
    result = run("apply", str(path))
    assert result.code == 1
    assert "team-b has no fingerprint" in result.err
    assert sandbox.store.cohort_members("team-b") == SALES
    converge(run, config)


def test_zeroed_delete_of_a_segment_with_members_is_refused(lab, sandbox, run) -> None:
    config = lab(unmanaged="delete")
    converge(run, config)
    sandbox.store.add_cohort("stray", "Stray")
    sandbox.store.add_cohort_members("stray", USERS[:3])
    path = config.parent / "plan.json"
    refused = run("plan", "-c", str(config), "--out", str(path))
    assert refused.code == 3  # deleting a segment with members needs --allow-delete
    data = json.loads(path.read_text(encoding="utf-8"))
    site = site_of(data)
    (refusal,) = site["refused"]
    delete = refusal["change"]
    assert delete["action"] == "delete_segment"
    delete["member_count"] = 0
    site["changes"].append(delete)
    site["refused"] = []
    write_json(path, data, reseal=sandbox.token)
    result = run("apply", str(path))
    assert result.code == 3, result.out + result.err
    assert "would delete segment stray, which has 3 members" in result.err
    assert sandbox.store.cohort_members("stray") == set(USERS[:3])
    done = run("apply", "-c", str(config), "--auto-approve", "--allow-delete", "stray")
    assert done.code == 0, done.out + done.err
    assert "stray" not in sandbox.store.cohorts()
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0


def test_zeroed_delete_of_a_declared_segment_is_refused(lab, sandbox, run) -> None:
    config = lab()
    converge(run, config)
    a_pending_change(sandbox)
    path, data = saved_plan(run, config)
    site = site_of(data)
    team_a = sandbox.store.cohorts()["team-a"]
    site["changes"].append(
        {"action": "delete_segment", "idnumber": "team-a", "id": team_a["id"], "member_count": 0}
    )
    site["fingerprints"]["segment-members:team-a"] = digest(sorted(USERS[:12]))
    site["fingerprints"]["segment:team-a"] = digest(
        {"id": team_a["id"], "name": "Team A", "description": "", "visible": True}
    )
    write_json(path, data, reseal=sandbox.token)
    result = run("apply", str(path))
    assert result.code == 1, result.out + result.err
    assert "segment team-a" in result.err
    assert "team-a" in sandbox.store.cohorts()
    assert sandbox.store.cohort_members("team-a") == set(USERS[:12])
    converge(run, config)


def test_a_removal_planned_from_a_passing_profile_value_is_refused(lab, sandbox, run) -> None:
    config = lab()
    converge(run, config)
    # user003 leaves Sales for a moment, and the plan is made then ...
    sandbox.store.set_profile("user003", department="HR")
    path, data = saved_plan(run, config)
    (removal,) = [c for c in site_of(data)["changes"] if c["action"] == "remove_segment_members"]
    assert removal["usernames"] == ["user003"]
    # ... and comes back: the segment's members never changed, so no fingerprint does.
    sandbox.store.set_profile("user003", department="Sales")
    result = run("apply", str(path))
    assert result.code == 1, result.out + result.err
    assert "stale" in result.err and "segment team-b" in result.err
    assert "user003" in sandbox.store.cohort_members("team-b")
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0


def test_a_plan_for_a_site_the_config_does_not_have_is_refused(lab, sandbox, run) -> None:
    config = lab()
    converge(run, config)
    a_pending_change(sandbox)
    path, data = saved_plan(run, config)
    site_of(data)["site"] = "elsewhere"
    write_json(path, data, reseal=sandbox.token)
    result = run("apply", str(path))
    assert result.code == 1
    assert "'elsewhere'" in result.err and "does not have" in result.err
    assert sandbox.store.cohort_members("team-b") == SALES
    converge(run, config)


@pytest.mark.parametrize("changed", ["config", "csv"])
def test_a_plan_whose_config_or_csv_changed_is_refused(lab, sandbox, run, changed) -> None:
    config = lab()
    converge(run, config)
    a_pending_change(sandbox)
    path, _data = saved_plan(run, config)
    if changed == "config":
        config.write_text(config.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
        named = str(config)
    else:
        csv = config.parent / "staff.csv"
        csv.write_text(csv.read_text(encoding="utf-8") + "user022\n", encoding="utf-8")
        named = "staff.csv"
    result = run("apply", str(path))
    assert result.code == 1
    assert "made from other inputs" in result.err and named in result.err
    assert sandbox.store.cohort_members("team-b") == SALES
    if changed == "csv":
        converge(run, config)
        assert sandbox.store.cohort_members("team-c") == {"user020", "user021", "user022"}
    else:
        converge(run, config)


def test_a_plan_that_records_no_basis_is_refused(lab, sandbox, run) -> None:
    config = lab()
    converge(run, config)
    a_pending_change(sandbox)
    path, data = saved_plan(run, config)
    del data["basis"]
    write_json(path, data, reseal=sandbox.token)
    result = run("apply", str(path))
    assert result.code == 1
    assert "does not record the config" in result.err
    converge(run, config)


def test_a_saved_plan_applies_with_its_recorded_acknowledgements(lab, sandbox, run) -> None:
    config = lab()
    converge(run, config)
    config = lab(team_a=USERS[:4])
    path, data = saved_plan(
        run, config, "--allow-removals", "team-a", "--allow-removals", "LAB101/grp-a"
    )
    assert data["basis"]["allow_removals"] == ["LAB101/grp-a", "team-a"]
    sandbox.log.clear()
    result = run("apply", str(path))
    assert result.code == 0, result.out + result.err
    assert sandbox.store.cohort_members("team-a") == set(USERS[:4])
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0


def test_a_saved_plan_rereads_only_what_it_touches(lab, sandbox, run) -> None:
    config = lab()
    converge(run, config)
    a_pending_change(sandbox)  # the plan adds user001 to team-b, a rule segment
    path, _data = saved_plan(run, config)
    sandbox.log.clear()
    result = run("apply", str(path))
    assert result.code == 0, result.out + result.err
    assert "user001" in sandbox.store.cohort_members("team-b")
    # No listing of every user, and no course read: only team-b and user001's profile.
    assert sandbox.log.count("core_enrol_get_enrolled_users") == 0
    assert sandbox.log.count("core_user_get_users") == 0
    assert sandbox.log.count("core_course_get_courses_by_field") == 0
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0


def test_a_removal_from_a_rule_segment_applies_when_no_user_read_has_the_field(
    lab, sandbox, run, tmp_path
) -> None:
    # The re-read sees user003 alone, who no longer has a campus: that is no unknown
    # field (the plan's checks saw every user), and the saved removal applies.
    sandbox.store.add_profile_field("campus", "text")
    sandbox.store.set_profile("user003", campus="North")
    sandbox.store.set_profile("user005", campus="South")  # so the plan sees the field
    config = tmp_path / "rules-only.yaml"
    config.write_text(
        lab().read_text(encoding="utf-8").split("  team-a:")[0]
        + "  north:\n    name: North\n    rules:\n"
        + "      - {field: campus, match: exact, value: North}\n",
        encoding="utf-8",
    )
    converge(run, config)
    assert sandbox.store.cohort_members("north") == {"user003"}
    sandbox.store.set_profile("user003", campus="")
    path, data = saved_plan(run, config, "--allow-removals", "north")
    (removal,) = site_of(data)["changes"]
    assert removal["usernames"] == ["user003"]
    result = run("apply", str(path))
    assert result.code == 0, result.out + result.err
    assert sandbox.store.cohort_members("north") == set()
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0
