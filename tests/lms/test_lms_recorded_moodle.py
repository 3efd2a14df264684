"""plutoctl against the sandbox behaving as the recorded Moodle 4.5 site does.

Each test stands for a behaviour the recordings showed (tests/sandbox/data): the
sandbox now answers so, and the client and reader must cope.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from plutoctl.errors import InvalidParameterError, SiteFaultError
from plutoctl.lms.client import RetryPolicy, SiteClient
from plutoctl.lms.params import flatten
from plutoctl.lms.reader import ReadScope, read_site
from plutoctl.rules.conditions import field_value
from plutoctl.sandbox import Sandbox

NO_WAIT = RetryPolicy(attempts=1, backoff=0)
BY_FIELD = "core_user_get_users_by_field"


@pytest.fixture
def lab() -> Iterator[Sandbox]:
    with Sandbox.start(max_input_vars=40) as sb:
        for n in range(1, 7):
            sb.store.add_user(f"u{n}", suspended=n == 3)
        sb.store.add_course("LAB101")
        for n in range(1, 5):
            sb.store.enrol(f"u{n}", "LAB101")
        sb.store.add_group("LAB101", "Existing", idnumber="grp-x")
        yield sb


def call(sb: Sandbox, function: str, params: dict[str, Any]) -> Any:
    """One raw web-service call (the sandbox's own answer, errors included)."""
    data = [
        ("wstoken", sb.token),
        ("wsfunction", function),
        ("moodlewsrestformat", "json"),
        ("moodlewssettingraw", "1"),
        *flatten(params),
    ]
    return requests.post(sb.endpoint, data=data, timeout=10).json()


def client_for(sb: Sandbox) -> SiteClient:
    return SiteClient(site="lab", url=sb.url, token=sb.token, retry=NO_WAIT, max_input_vars=40)


# --- suspension --------------------------------------------------------------------------


def test_enrolled_user_lists_never_say_who_is_suspended(lab: Sandbox) -> None:
    options = [{"name": "userfields", "value": "id,username,suspended"}]
    listed = call(lab, "core_enrol_get_enrolled_users", {"courseid": 1, "options": options})
    assert listed and all("suspended" not in user for user in listed)


def test_rules_on_suspended_read_it_by_id_and_only_then(lab: Sandbox) -> None:
    with client_for(lab) as client:
        plain = read_site(client, ReadScope(needs_all_users=True))
    assert lab.log.count(BY_FIELD) == 0  # no rule needs it: not paid for
    assert plain.users["u3"].suspended is None  # unknown, never "not suspended"
    assert field_value(plain.users["u3"], "user.suspended") is None
    lab.log.clear()
    scope = ReadScope(needs_all_users=True, standard_fields=frozenset({"suspended"}))
    with client_for(lab) as client:
        existing = read_site(client, scope)
    assert lab.log.count(BY_FIELD) >= 1
    assert existing.users["u3"].standard["suspended"] == "1"
    assert existing.users["u1"].standard["suspended"] == "0"
    assert field_value(existing.users["u3"], "user.suspended") == "1"
    assert existing.is_complete


def test_suspension_unread_is_reported_not_assumed(lab: Sandbox) -> None:
    lab.faults.inject("status", function=BY_FIELD, status=500)
    scope = ReadScope(needs_all_users=True, standard_fields=frozenset({"suspended"}))
    with client_for(lab) as client:
        existing = read_site(client, scope)
    assert not existing.is_complete  # so the plan removes nothing on a guess
    assert "suspended" not in existing.users["u3"].standard


# --- errors without an errorcode -------------------------------------------------------


def test_an_exception_without_errorcode_is_a_typed_site_fault(lab: Sandbox) -> None:
    enrolment = {"roleid": 5, "userid": 999999, "courseid": 2}
    with client_for(lab) as client, pytest.raises(SiteFaultError) as caught:
        client.call("enrol_manual_enrol_users", {"enrolments": [enrolment]}, retry_safe=False)
    error = caught.value
    assert error.errorcode == "TypeError"
    assert "TypeError" in str(error) and "get_name_placeholders" in str(error)
    assert "unknown" not in str(error)
    assert error.hint and "nothing of it was kept" in error.hint
    assert lab.token not in str(error) + error.hint


# --- a group listed but gone ------------------------------------------------------------


def _roll_back_a_group_create(lab: Sandbox) -> None:
    """Create 'Ghost' then fail the batch on a taken idnumber: Moodle keeps listing it."""
    groups = [
        {"courseid": 2, "name": "Ghost", "description": "", "idnumber": "grp-ghost"},
        {"courseid": 2, "name": "Clash", "description": "", "idnumber": "grp-x"},
    ]
    answer = call(lab, "core_group_create_groups", {"groups": groups})
    assert answer["errorcode"] == "idnumbertaken"
    listed = call(lab, "core_group_get_course_groups", {"courseid": 2})
    assert "Ghost" in [g["name"] for g in listed]


def test_a_listed_group_that_does_not_exist_is_reported_and_read_as_missing(
    lab: Sandbox,
) -> None:
    _roll_back_a_group_create(lab)
    with client_for(lab) as client:
        existing = read_site(client, ReadScope(courses=frozenset({"LAB101"})))
    course = existing.courses["LAB101"]
    assert [g.name for g in course.groups.values()] == ["Existing"]
    assert course.gone_groups == ("Ghost",)
    assert existing.is_complete  # the other groups' members were read one by one
    # The next committed group change in the course clears the site's cache.
    created = call(
        lab,
        "core_group_create_groups",
        {"groups": [{"courseid": 2, "name": "Ghost", "description": "", "idnumber": "grp-ghost"}]},
    )
    assert created[0]["name"] == "Ghost"
    with client_for(lab) as client:
        again = read_site(client, ReadScope(courses=frozenset({"LAB101"})))
    assert sorted(g.name for g in again.courses["LAB101"].groups.values()) == ["Existing", "Ghost"]
    assert again.is_complete


# --- what PHP keeps of a request --------------------------------------------------------


def test_php_keeps_one_variable_past_max_input_vars_and_a_cut_item_fails_the_call(
    lab: Sandbox,
) -> None:
    # 40 vars allowed, 41 kept: 4 reserved + 9 items of 4 vars + 1 var of the 10th.
    members = [
        {"cohorttype": {"type": "id", "value": 1}, "usertype": {"type": "id", "value": 3}}
    ] * 10
    lab.store.add_cohort("c", "C")
    answer = call(lab, "core_cohort_add_cohort_members", {"members": members})
    assert answer["errorcode"] == "invalidparameter"
    assert lab.store.cohort_members("c") == set()  # the whole call was lost


def test_chunks_stay_within_what_php_keeps(lab: Sandbox) -> None:
    lab.store.add_cohort("c", "C")
    cohort_id = lab.store.cohorts()["c"]["id"]
    ids = [lab.store.user_id(f"u{n}") for n in range(1, 7)] * 5
    members = [
        {"cohorttype": {"type": "id", "value": cohort_id}, "usertype": {"type": "id", "value": u}}
        for u in ids
    ]
    with client_for(lab) as client:
        chunks = client.call_chunked(
            "core_cohort_add_cohort_members", "members", members, retry_safe=True
        )
    assert all(chunk.error is None for chunk in chunks)
    sent = [
        entry.param_count for entry in lab.log if entry.function == "core_cohort_add_cohort_members"
    ]
    assert len(sent) > 1 and max(sent) <= 40  # never relies on the extra variable
    assert lab.store.cohort_members("c") == {f"u{n}" for n in range(1, 7)}


def test_a_call_the_site_would_cut_is_never_sent(lab: Sandbox) -> None:
    members = [
        {"cohorttype": {"type": "id", "value": 1}, "usertype": {"type": "id", "value": 3}}
    ] * 10
    with client_for(lab) as client, pytest.raises(InvalidParameterError) as caught:
        client.call("core_cohort_add_cohort_members", {"members": members}, retry_safe=False)
    assert caught.value.errorcode == "maxinputvars"
    assert lab.log.count("core_cohort_add_cohort_members") == 0
