"""plan_site (diff → safety → fingerprints → calls) and the API-call estimate."""

from __future__ import annotations

import pytest
from plan_builders import (
    ONE_OF_EACH,
    desired_site,
    enrolled,
    existing_site,
    have_course,
    have_group,
    have_segment,
    want_course,
    want_group,
    want_segment,
)

from plutoctl.config.schema import PolicyConfig
from plutoctl.lms.functions import items_per_call
from plutoctl.plan.build import calls_by_function, estimate_calls, plan_site
from plutoctl.plan.changes.kinds import (
    KINDS,
    AddGroupMembers,
    AddSegmentMembers,
    CreateGroup,
    DeleteSegment,
    Enrol,
    RemoveSegmentMembers,
    UpdateGroup,
)
from plutoctl.plan.changes.plans import Notice
from plutoctl.plan.fingerprint import ABSENT
from plutoctl.plan.safety import Acknowledgements


def _users(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{i:04d}" for i in range(count))


def test_member_adds_are_batched_across_segments() -> None:
    per_call = items_per_call("core_cohort_add_cohort_members", 1000)
    changes = [AddSegmentMembers(s, _users(s, per_call // 2 + 1)) for s in "abcde"]
    # 5 × (per_call/2 + 1) items fit in 3 calls (even ones, a multiple of the 3 calls
    # in flight), though each segment alone needs one.
    assert estimate_calls(changes, 1000) == 3


def test_group_writes_of_several_courses_share_a_call() -> None:
    # Apply sends the groups of every course in one batch (each item names its course).
    changes = [
        CreateGroup("C1", "g", "G", ""),
        CreateGroup("C1", "h", "H", ""),
        CreateGroup("C2", "g", "G", ""),
        UpdateGroup("C2", "x", 1, "X", "", ()),
    ]
    assert calls_by_function(changes, 1000) == {
        "core_group_create_groups": 1,
        "core_group_update_groups": 1,
    }


@pytest.mark.parametrize(
    ("max_input_vars", "expected"),
    [(1000, 1), (50, 3)],
    ids=["default-limit", "tiny-limit"],
)
def test_estimate_follows_max_input_vars(max_input_vars, expected) -> None:
    # enrol_manual_enrol_users: 3 vars per item; 50 vars leave room for 15 items a call.
    changes = [Enrol("C", "student", _users("u", 40), "s")]
    assert estimate_calls(changes, max_input_vars) == expected


def test_every_change_kind_has_a_function() -> None:
    # One small change of each kind is one call of its kind's write function.
    assert calls_by_function(ONE_OF_EACH, 1000) == {kind.function: 1 for kind in KINDS}
    assert len({kind.function for kind in KINDS}) == len(KINDS)
    assert estimate_calls([], 1000) == 0


NO_ACKS = Acknowledgements()


def _plan(desired, existing, *, acks=NO_ACKS, **kwargs):
    return plan_site(
        desired,
        existing,
        policy=kwargs.pop("policy", PolicyConfig()),
        acks=acks,
        max_input_vars=1000,
        **kwargs,
    )


def test_site_with_errors_gets_no_changes() -> None:
    error = Notice("error", "unknown user ghost", "segments.yaml:4")
    info = Notice("info", "something")
    plan = _plan(
        desired_site([want_segment("s", "a")]), existing_site(), errors=(error,), notices=(info,)
    )
    assert plan.site == "demo"
    assert (plan.changes, plan.errors, plan.notices, plan.api_calls) == ((), (error,), (info,), 0)


def test_identical_state_gives_an_empty_plan() -> None:
    desired = desired_site(
        [want_segment("s", "a b")], [want_course("C", [want_group("g", segment="s")])]
    )
    existing = existing_site(
        [have_segment("s", "a b")], [have_course("C", [have_group("g", "a")], enrolled("a"))]
    )
    plan = _plan(desired, existing, policy=PolicyConfig(unmanaged_segments="delete"))
    assert not plan.has_changes
    assert (plan.refused, plan.fingerprints, plan.api_calls) == ((), (), 0)


def test_plan_assembles_changes_refusals_notices_and_fingerprints() -> None:
    desired = desired_site(
        [want_segment("big", "a"), want_segment("add", "x", is_additive=True)],
        [want_course("C", [want_group("g", segment="big")])],
    )
    existing = existing_site(
        [have_segment("big", "a b c d"), have_segment("add", "y"), have_segment("stray", "q")],
        [have_course("C", enrolments=enrolled("a"))],
    )
    plan = _plan(
        desired,
        existing,
        policy=PolicyConfig(unmanaged_segments="report"),
        notices=(Notice("warning", "from desired"),),
    )
    assert [r.acknowledge for r in plan.refused] == ["--allow-removals big"]
    assert plan.changes == (
        CreateGroup("C", "g", "G", ""),
        AddSegmentMembers("add", ("x",)),
        AddGroupMembers("C", "g", ("a",)),
    )
    assert [n.message for n in plan.notices] == [
        "from desired",
        "unmanaged segment stray (1 member)",
    ]
    assert [n.where for n in plan.held_back] == ["add"]
    fingerprints = dict(plan.fingerprints)
    assert set(fingerprints) == {
        "course:C",
        "enrolments:C",
        "group:C/g",
        "group-members:C/g",
        "segment-members:add",
        "segment-members:big",  # the refused removal's object is fingerprinted too
    }
    assert fingerprints["group:C/g"] == ABSENT
    assert plan.api_calls == 3


def test_acknowledged_removals_are_planned() -> None:
    desired = desired_site([want_segment("big", "a")])
    existing = existing_site([have_segment("big", "a b c d")])
    acks = Acknowledgements(removals=frozenset({"big"}))
    plan = _plan(desired, existing, acks=acks)
    assert plan.refused == ()
    assert plan.changes == (RemoveSegmentMembers("big", ("b", "c", "d"), 4),)


def test_scoped_out_segments_are_never_deleted() -> None:
    existing = existing_site([have_segment("other", "", id=1)])
    policy = PolicyConfig(unmanaged_segments="delete")
    assert _plan(desired_site(), existing, policy=policy).changes == (DeleteSegment("other", 1, 0),)
    plan = _plan(desired_site(), existing, policy=policy, managed_scope=frozenset({"other"}))
    assert plan.changes == ()
