"""The JSON report: golden file, completeness, key order and exact round trip."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from render_plans import empty_plan, every_change_site, members_plan, representative_plan

from plutoctl.errors import PlanError
from plutoctl.plan.changes.kinds import Step
from plutoctl.plan.changes.plans import Plan, SitePlan
from plutoctl.plan.render import render
from plutoctl.plan.render.json import ACTIONS, plan_from_dict, plan_to_dict

Golden = Callable[[str, str], None]


def test_representative_plan(golden: Golden) -> None:
    golden("representative.json", render(representative_plan(), "json"))


def test_no_changes(golden: Golden) -> None:
    golden("empty.json", render(empty_plan(), "json"))


def test_top_level_and_site_keys_in_stable_order() -> None:
    data = json.loads(render(representative_plan(), "json"))
    assert list(data) == ["format_version", "created_at", "config", "sites", "summary"]
    assert data["format_version"] == 1
    assert list(data["sites"][0]) == [
        "site", "changes", "refused", "held_back", "notices", "errors", "api_calls",
        "estimated_seconds", "fingerprints", "acknowledged", "summary",
    ]  # fmt: skip
    assert data["summary"]["members_add"] == 28
    assert data["summary"]["api_calls"] == 16


def test_every_change_kind_is_written_with_its_action_and_step() -> None:
    changes = plan_to_dict(representative_plan())["sites"][0]["changes"]
    assert sorted(c["action"] for c in changes) == sorted(ACTIONS.values())
    assert [c["step"] for c in changes] == [int(s) for s in Step]
    update = changes[1]
    assert update["changed"] == [
        {"field": "name", "old": "HR", "new": "Human Resources"},
        {"field": "visible", "old": True, "new": False},
    ]
    assert changes[9] == {
        "action": "remove_segment_members",
        "step": 10,
        "subject": "dept-hr",
        "idnumber": "dept-hr",
        "usernames": ["pking", "tnguyen"],
        "count": 2,
        "existing_count": 9,
    }


def test_nothing_is_abbreviated() -> None:
    data = plan_to_dict(members_plan(5000))
    assert len(data["sites"][0]["changes"][0]["usernames"]) == 5000


def test_json_ignores_colour_and_show_members() -> None:
    plan = members_plan(50)
    assert render(plan, "json", colour=True) == render(plan, "json", show_members=True)


@pytest.mark.parametrize(
    "plan",
    [
        pytest.param(representative_plan(), id="representative"),
        pytest.param(empty_plan(), id="empty"),
        pytest.param(Plan(sites=()), id="no-sites"),
        pytest.param(Plan(sites=(every_change_site(),)), id="no-metadata"),
    ],
)
def test_round_trip_is_exact(plan: Plan) -> None:
    assert plan_from_dict(json.loads(render(plan, "json"))) == plan


def test_refused_changes_round_trip_with_their_flags() -> None:
    site = plan_from_dict(plan_to_dict(representative_plan())).sites[0]
    assert site.refused == every_change_site().refused
    assert site.fingerprints == every_change_site().fingerprints


def test_duplicate_fingerprint_keys_are_refused() -> None:
    site = SitePlan("demo", fingerprints=(("segment:a", "x"), ("segment:a", "y")))
    with pytest.raises(PlanError, match="fingerprints one object twice"):
        plan_to_dict(Plan(sites=(site,)))


def _corrupt(path: list[object], value: object) -> dict:
    data = plan_to_dict(representative_plan())
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        pytest.param(["format_version"], 2, "unsupported plan format_version 2", id="version"),
        pytest.param(["format_version"], KeyError, "no format_version", id="no-version"),
        pytest.param(["sites"], {}, r"plan\.sites has the wrong type", id="sites-type"),
        pytest.param(["sites", 0, "changes", 0, "action"], "explode", "unknown action",
                     id="action"),
        pytest.param(["sites", 0, "changes", 1, "id"], "12", r"changes\[1\]\.id has the wrong",
                     id="id-as-text"),
        pytest.param(["sites", 0, "changes", 1, "id"], True, "wrong type", id="id-as-bool"),
        pytest.param(["sites", 0, "changes", 4, "usernames"], [1, 2], "must list strings",
                     id="usernames"),
        pytest.param(["sites", 0, "changes", 0, "fields", "visible"], "yes", "wrong type",
                     id="visible"),
        pytest.param(["sites", 0, "changes", 0, "colour"], "red", "unknown key 'colour'",
                     id="unknown-key"),
        pytest.param(["sites", 0, "refused", 0, "reason"], KeyError, r"refused\[0\]\.reason is",
                     id="reason-missing"),
        pytest.param(["sites", 0, "fingerprints"], {"a": 1}, "map keys to strings",
                     id="fingerprint"),
    ],
)  # fmt: skip
def test_malformed_plans_raise_plan_error(path: list[object], value: object, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        plan_from_dict(_corrupt(path, value))


@pytest.mark.parametrize(
    "data",
    [pytest.param([], id="list"), pytest.param("plan", id="text"), pytest.param({}, id="empty")],
)
def test_non_plans_raise_plan_error(data: object) -> None:
    with pytest.raises(PlanError, match="not a plan file"):
        plan_from_dict(data)
