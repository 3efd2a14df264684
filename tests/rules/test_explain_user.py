"""plutoctl explain, pure part: which list entry, CSV row, rule or exclusion decided."""

from __future__ import annotations

from pathlib import Path

import pytest

from plutoctl.config.loaded import LoadedConfig, SourcedName
from plutoctl.config.schema import Config
from plutoctl.errors import PlanError, Position
from plutoctl.explain import (
    SegmentExplanation,
    explain_user,
    render_explanation,
    withheld_changes,
)
from plutoctl.model import ExistingSegment, ExistingSite, SegmentFields, User
from plutoctl.plan.changes.kinds import AddSegmentMembers, RemoveSegmentMembers
from plutoctl.plan.changes.plans import Notice, Refusal
from plutoctl.plan.desired import build_desired
from plutoctl.plan.safety import SafetyResult

CONFIG = Config.model_validate(
    {
        "version": 1,
        "sites": {"primary": {"url": "https://learn.example.com", "token": "${T}"}},
        "segments": {
            "dept-sales": {
                "name": "Sales",
                "members": ["jdoe"],
                "members_csv": "data/sales.csv",
                "rules": [
                    {"field": "department", "match": "exact", "value": "Sales"},
                    {
                        "all": [
                            {"field": "region", "match": "contains", "value": "emea"},
                            {"field": "jobrole", "match": "notempty"},
                        ]
                    },
                ],
                "exclude": ["contractor1"],
            },
            "dept-hr": {
                "name": "HR",
                "rules": [{"field": "department", "match": "exact", "value": "HR"}],
                "membership": "additive",
            },
            "all-staff": {"name": "All staff"},
            "dept-new": {"name": "New", "members": ["jdoe"]},
        },
    }
)
LOADED = LoadedConfig(
    config=CONFIG,
    path=Path("segments.yaml"),
    positions={
        ("segments", "dept-sales", "members", 0): Position("segments.yaml", 12, 9),
        ("segments", "dept-sales", "exclude", 0): Position("segments.yaml", 20, 15),
    },
    csv_members={
        "dept-sales": (SourcedName("csvuser", Position("data/sales.csv", 4), "members_csv"),)
    },
)


def segment(sid: str, name: str, *members: str) -> ExistingSegment:
    return ExistingSegment(len(sid), sid, SegmentFields(name), frozenset(members))


EXISTING = ExistingSite(
    site="primary",
    segments={
        "dept-sales": segment("dept-sales", "Sales", "jdoe", "old"),
        "dept-hr": segment("dept-hr", "HR", "jdoe", "old"),
        "all-staff": segment("all-staff", "All staff"),
        "legacy": segment("legacy", "Legacy", "jdoe"),
    },
    users={
        "jdoe": User(1, "jdoe", custom={"department": "HR"}),
        "csvuser": User(2, "csvuser"),
        "contractor1": User(3, "contractor1", custom={"department": "Sales"}),
        "old": User(4, "old", custom={"department": "IT", "region": "EMEA"}),
        "emea": User(5, "emea", custom={"region": "North EMEA", "jobrole": "rep"}),
    },
    courses={},
    field_types={"department": "menu", "region": "text", "jobrole": "text"},
    has_all_users=True,
)
RESULT = build_desired(LOADED, "primary", EXISTING)


def explain(username: str) -> dict[str, SegmentExplanation]:
    return {e.segment: e for e in explain_user(LOADED, "primary", EXISTING, username, RESULT)}


def test_listed_member_whose_rules_do_not_match() -> None:
    sales = explain("jdoe")["dept-sales"]
    assert (sales.is_member, sales.will_be_member) == (True, True)
    assert sales.reasons == (
        "listed in members at segments.yaml:12:9",
        "no rule matched (rule 1: department is 'HR', wanted 'Sales'; "
        "rule 2: region not defined, wanted contains 'emea'; jobrole not defined, wanted notempty)",
    )


def test_rule_match_names_the_rule_and_value() -> None:
    hr = explain("jdoe")["dept-hr"]
    assert hr.reasons == ("rule 1 matched: department exact 'HR' (value 'HR')",)
    emea = explain("emea")["dept-sales"]
    assert emea.reasons == (
        "not listed in members or members_csv",
        "rule 2 matched: region contains 'emea' (value 'North EMEA'); "
        "jobrole notempty (value 'rep')",
    )
    assert (emea.is_member, emea.will_be_member) == (False, True)
    assert emea.status == "not a member; will be added"


def test_exclusion_is_reported_after_the_rule_it_overrides() -> None:
    sales = explain("contractor1")["dept-sales"]
    assert sales.will_be_member is False
    assert sales.reasons == (
        "not listed in members or members_csv",
        "rule 1 matched: department exact 'Sales' (value 'Sales')",
        "excluded at segments.yaml:20:15",
    )


def test_csv_row() -> None:
    sales = explain("csvuser")["dept-sales"]
    assert sales.reasons[0] == "listed at line 4 of data/sales.csv"
    assert sales.will_be_member is True


def test_removal_and_additive_keep() -> None:
    found = explain("old")
    assert found["dept-sales"].status == "member; will be removed"
    hr = found["dept-hr"]
    assert (hr.is_member, hr.will_be_member) == (True, True)
    assert hr.reasons[-1] == "kept: membership is additive, so plutoctl never removes members"


def test_unmanaged_unconfigured_and_new_segments() -> None:
    found = explain("jdoe")
    assert found["all-staff"].reasons == ("membership not managed by plutoctl",)
    assert found["all-staff"].will_be_member is None
    assert found["all-staff"].status == "not a member"
    legacy = found["legacy"]
    assert not legacy.is_configured
    assert legacy.reasons == ("segment not in the config (policy unmanaged_segments: ignore)",)
    new = found["dept-new"]
    assert new.is_member is None and new.status == "not a member yet; will be added"
    assert "legacy" not in explain("csvuser")


def test_unknown_user_raises_plan_error_with_hint() -> None:
    with pytest.raises(PlanError, match="user 'nobody' does not exist on site 'primary'") as caught:
        explain_user(LOADED, "primary", EXISTING, "nobody", RESULT)
    assert caught.value.hint


def test_render() -> None:
    explanations = explain_user(LOADED, "primary", EXISTING, "contractor1", RESULT)
    assert render_explanation(explanations, "contractor1", "primary") == (
        "User 'contractor1' on site 'primary':\n"
        "  dept-sales (Sales): not a member; no change\n"
        "    - not listed in members or members_csv\n"
        "    - rule 1 matched: department exact 'Sales' (value 'Sales')\n"
        "    - excluded at segments.yaml:20:15\n"
        "  dept-hr (HR): not a member; no change\n"
        "    - no rule matched (rule 1: department is 'Sales', wanted 'HR')\n"
        "  all-staff (All staff): not a member\n"
        "    - membership not managed by plutoctl\n"
        "  dept-new (New): not a member yet; no change\n"
        "    - not listed in members or members_csv\n"
    )


def test_partly_matching_all_chain_names_only_the_failed_condition() -> None:
    sales = explain("old")["dept-sales"]
    assert sales.reasons[-1] == (
        "no rule matched (rule 1: department is 'IT', wanted 'Sales'; "
        "rule 2: jobrole not defined, wanted notempty)"
    )


def test_withheld_changes_name_refusals_and_holds_for_the_user_only() -> None:
    removal = RemoveSegmentMembers("team", ("ann", "bob"), 4)
    held = RemoveSegmentMembers("crew", ("ann",), 2)
    added = AddSegmentMembers("club", ("ann",))
    planned = SafetyResult(
        changes=(added,),
        refused=(Refusal(removal, "too many", "--allow-removals team"),),
        held_back=(Notice("warning", "held back: the site read was incomplete", "crew"),),
    )
    withheld = withheld_changes("ann", (removal, held, added), planned)
    assert withheld == {
        "team": "refused: too many; to allow: --allow-removals team",
        "crew": "held back: the site read was incomplete",
    }
    assert withheld_changes("cid", (removal, held, added), planned) == {}
