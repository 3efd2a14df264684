"""Every safety rule of docs/safety.md and its acknowledgement."""

from __future__ import annotations

import shlex

import pytest
from plan_builders import (
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
from plutoctl.errors import UsageError
from plutoctl.model import DesiredEnrolment, SegmentFields
from plutoctl.plan.changes.kinds import (
    AddGroupMembers,
    AddSegmentMembers,
    CreateSegment,
    DeleteGroup,
    DeleteSegment,
    RemoveGroupMembers,
    RemoveSegmentMembers,
    Unenrol,
)
from plutoctl.plan.safety import Acknowledgements, check_safety

NO_ACKS = Acknowledgements()
TEN = " ".join(f"u{i}" for i in range(10))


def _check(changes, *, existing=None, desired=None, policy=None, acks=NO_ACKS):
    return check_safety(
        changes,
        existing or existing_site(),
        desired or desired_site(),
        policy or PolicyConfig(),
        acks,
    )


def _removal(count: int, of: int = 10) -> RemoveSegmentMembers:
    return RemoveSegmentMembers("dept-sales", tuple(f"u{i}" for i in range(count)), of)


@pytest.mark.parametrize("course", ["Maths 101", "R&D; $(echo)", "it's"])
def test_the_flag_in_a_refusal_is_quoted_as_a_shell_reads_it(course: str) -> None:
    change = RemoveGroupMembers(course, "g", ("a", "b"), 4)
    (refusal,) = _check((change,)).refused
    argv = shlex.split(refusal.acknowledge)  # what a shell hands plutoctl, pasted
    assert argv == ["--allow-removals", f"{course}/g"]
    acks = Acknowledgements(removals=frozenset({argv[1]}))
    assert _check((change,), acks=acks).changes == (change,)


@pytest.mark.parametrize(
    ("max_removals", "count", "is_refused"),
    [
        ("25%", 2, False),
        ("25%", 3, True),
        (3, 3, False),
        (3, 4, True),
        (0, 1, True),
        ("100%", 10, False),
    ],
    ids=["pct-within", "pct-beyond", "count-within", "count-beyond", "zero", "all-allowed"],
)
def test_segment_removals_beyond_max_are_refused(max_removals, count, is_refused) -> None:
    policy = PolicyConfig(max_removals=max_removals)
    result = _check((_removal(count),), policy=policy)
    assert bool(result.refused) is is_refused
    assert bool(result.changes) is not is_refused


def test_refusal_says_why_and_names_the_flag() -> None:
    (refusal,) = _check((_removal(5),)).refused
    assert refusal.change == _removal(5)
    assert refusal.acknowledge == "--allow-removals dept-sales"
    assert "would remove 5 of 10 members of segment dept-sales" in refusal.reason
    assert "allows 2" in refusal.reason


def test_allow_removals_allows_exactly_what_it_names() -> None:
    other = RemoveSegmentMembers("dept-hr", ("a", "b", "c"), 3)
    acks = Acknowledgements(removals=frozenset({"dept-sales"}))
    result = _check((_removal(5), other), acks=acks)
    assert result.changes == (_removal(5),)
    assert [r.change for r in result.refused] == [other]


def test_allow_delete_does_not_allow_removals() -> None:
    acks = Acknowledgements(deletes=frozenset({"dept-sales"}))
    assert _check((_removal(5),), acks=acks).refused


def test_group_removals_count_per_group_and_take_course_slash_group() -> None:
    change = RemoveGroupMembers("C1", "g", ("a", "b"), 4)
    (refusal,) = _check((change,)).refused
    assert refusal.acknowledge == "--allow-removals C1/g"
    assert "members of group C1/g" in refusal.reason
    acks = Acknowledgements(removals=frozenset({"C1/g"}))
    assert _check((change,), acks=acks).changes == (change,)


@pytest.mark.parametrize(
    "acks",
    [
        Acknowledgements(removals=frozenset({"g"})),
        Acknowledgements(deletes=frozenset({"g"})),
    ],
    ids=["allow-removals", "allow-delete"],
)
def test_a_bare_id_never_admits_a_group(acks) -> None:
    # Behaviour changed: a group's bare idnumber used to admit it (and so admitted a
    # group that shares a segment's ID). A group is named COURSE/GROUP only.
    changes = (RemoveGroupMembers("C1", "g", ("a", "b"), 4), DeleteGroup("C1", "h", 3, 2))
    acks = Acknowledgements(removals=acks.removals, deletes=acks.deletes | {"h"})
    result = _check(changes, acks=acks)
    assert [r.change for r in result.refused] == list(changes)


@pytest.mark.parametrize("flag", ["removals", "deletes"])
def test_a_bare_id_that_is_a_segment_and_a_group_is_refused_naming_both(flag) -> None:
    changes = (
        RemoveSegmentMembers("team", ("a", "b", "c"), 4),
        RemoveGroupMembers("C1", "team", ("a", "b"), 4),
    )
    acks = Acknowledgements(**{flag: frozenset({"team"})})
    with pytest.raises(UsageError) as caught:
        _check(changes, acks=acks)
    text = caught.value.message + (caught.value.hint or "")
    assert "ambiguous" in text
    assert "team is a segment" in text and "C1/team" in text
    both = Acknowledgements(**{flag: frozenset({"team", "C1/team"})})
    admitted = _check(changes, acks=both).changes  # naming the group too: both are meant
    assert admitted == (changes if flag == "removals" else ())


@pytest.mark.parametrize(
    "acks",
    [
        Acknowledgements(removals=frozenset({"C1"})),
        Acknowledgements(bounds=(("C1", 50),)),
    ],
    ids=["allow-removals", "acknowledge-section"],
)
def test_a_bare_id_that_is_a_segment_and_a_course_with_unenrolments_is_refused(acks) -> None:
    # Unenrolments are acknowledged by course short name; a segment sharing that name
    # must not be admitted along with them.
    changes = (
        RemoveSegmentMembers("C1", ("a", "b", "c"), 4),
        Unenrol("C1", ("a", "b", "c"), "C1"),
    )
    with pytest.raises(UsageError) as caught:
        _check(changes, acks=acks)
    assert "C1 is ambiguous" in caught.value.message
    assert "names both a course and a segment" in caught.value.message


def test_a_course_name_alone_still_admits_its_unenrolments() -> None:
    changes = (Unenrol("C1", ("a", "b", "c"), "s"), RemoveSegmentMembers("s", ("z",), 40))
    result = _check(changes, acks=Acknowledgements(removals=frozenset({"C1"})))
    assert result.refused == ()


def test_delete_of_segment_with_members_needs_allow_delete() -> None:
    change = DeleteSegment("stray", 4, 3)
    (refusal,) = _check((change,)).refused
    assert refusal.acknowledge == "--allow-delete stray"
    assert "has 3 members" in refusal.reason
    acks = Acknowledgements(deletes=frozenset({"stray"}))
    assert _check((change,), acks=acks).changes == (change,)


def test_delete_of_empty_segment_or_group_is_allowed() -> None:
    changes = (DeleteGroup("C1", "g", 2, 0), DeleteSegment("stray", 4, 0))
    assert _check(changes).changes == changes


def test_delete_of_group_with_members_needs_allow_delete() -> None:
    change = DeleteGroup("C1", "g", 2, 5)
    assert _check((change,)).refused[0].acknowledge == "--allow-delete C1/g"
    acks = Acknowledgements(deletes=frozenset({"C1/g"}))
    assert _check((change,), acks=acks).changes == (change,)


def test_create_of_protected_segment_needs_allow_delete_and_blocks_its_adds() -> None:
    desired = desired_site([want_segment("vip", "a", is_protected=True)])
    create = CreateSegment("vip", SegmentFields("Vip"))
    adds = AddSegmentMembers("vip", ("a",))
    result = _check((create, adds), desired=desired)
    assert result.changes == ()
    assert [r.change for r in result.refused] == [create, adds]
    assert {r.acknowledge for r in result.refused} == {"--allow-delete vip"}
    assert "protected" in result.refused[0].reason
    acked = _check((create, adds), desired=desired, acks=Acknowledgements(deletes={"vip"}))
    assert acked.changes == (create, adds)


def test_delete_of_protected_segment_is_refused_even_when_empty() -> None:
    desired = desired_site([want_segment("vip", is_protected=True)])
    (refusal,) = _check((DeleteSegment("vip", 1, 0),), desired=desired).refused
    assert "protected" in refusal.reason


def test_incomplete_read_drops_every_removal_and_delete() -> None:
    existing = existing_site(incomplete=("members of dept-x: timeout",))
    keep = AddSegmentMembers("s", ("a",))
    removals = (
        RemoveSegmentMembers("s", ("b",), 100),
        RemoveGroupMembers("C", "g", ("b",), 100),
        Unenrol("C", ("b",), "s"),
        DeleteGroup("C", "h", 3, 0),
        DeleteSegment("t", 5, 0),
    )
    acks = Acknowledgements(removals=frozenset({"s", "C/g"}), deletes=frozenset({"t", "C/h"}))
    result = _check((keep, *removals), existing=existing, acks=acks)
    assert result.changes == (keep,)
    assert result.refused == ()
    assert len(result.held_back) == len(removals)
    assert all("members of dept-x: timeout" in n.message for n in result.held_back)


def test_refused_segment_removal_holds_back_dragged_group_removals_and_unenrols() -> None:
    desired = desired_site(
        [want_segment("s", "u0")],
        [want_course("C", [want_group("g", segment="s")], [DesiredEnrolment("s", True)])],
    )
    existing = existing_site(
        [have_segment("s", TEN)], [have_course("C", [have_group("g", TEN)], enrolled(TEN))]
    )
    leavers = tuple(f"u{i}" for i in range(1, 10))
    changes = (
        RemoveGroupMembers("C", "g", (*leavers, "zz"), 11),
        Unenrol("C", leavers, "s"),
        RemoveSegmentMembers("s", leavers, 10),
    )
    # The course is acknowledged so that the unenrolment is not refused on its own count.
    acks = Acknowledgements(removals=frozenset({"C/g", "C"}))
    result = _check(changes, existing=existing, desired=desired, acks=acks)
    assert [r.change for r in result.refused] == [changes[2]]
    assert result.changes == (RemoveGroupMembers("C", "g", ("zz",), 11),)
    assert len(result.held_back) == 2
    assert "awaits --allow-removals s" in result.held_back[0].message


def test_unenrolments_beyond_max_removals_are_refused_until_the_course_is_named() -> None:
    existing = existing_site([], [have_course("C", enrolments=enrolled(TEN))])
    unenrol = Unenrol("C", tuple(f"u{i}" for i in range(3)), "s")
    (refusal,) = _check((unenrol,), existing=existing).refused
    assert refusal.change == unenrol
    assert refusal.reason == (
        "would unenrol 3 of 10 users enrolled in course C; policy max_removals 25% allows 2"
    )
    assert refusal.acknowledge == "--allow-removals C"
    allowed = _check((unenrol,), existing=existing, acks=Acknowledgements(frozenset({"C"})))
    assert allowed.changes == (unenrol,)
    within = Unenrol("C", ("u0", "u1"), "s")
    assert _check((within,), existing=existing).changes == (within,)


def test_a_courses_unenrolments_count_together_across_roles() -> None:
    """Two roles' unenrolments, each within the limit, are over it together."""
    existing = existing_site([], [have_course("C", enrolments=enrolled(TEN))])
    students = Unenrol("C", ("u0", "u1"), "s")  # 2 of 10: within 25% alone
    teachers = Unenrol("C", ("u5", "u6"), "s")
    result = _check((students, teachers), existing=existing)
    assert result.changes == ()
    assert [r.change for r in result.refused] == [students, teachers]
    assert result.refused[0].reason == (
        "would unenrol 4 of 10 users enrolled in course C; policy max_removals 25% allows 2"
    )
    allowed = _check(
        (students, teachers), existing=existing, acks=Acknowledgements(frozenset({"C"}))
    )
    assert allowed.changes == (students, teachers)
    bounded = Acknowledgements(bounds=(("C", 3),))
    (refusal, _) = _check((students, teachers), existing=existing, acks=bounded).refused
    assert refusal.acknowledge == "acknowledge.removals C: 4"


def test_refused_removal_holds_back_unenrolments_owned_by_another_entry() -> None:
    desired = desired_site(
        [want_segment("s", "u0"), want_segment("t", "")],
        [want_course("C", enrolments=[DesiredEnrolment("s"), DesiredEnrolment("t", True)])],
    )
    existing = existing_site([have_segment("s", TEN)], [have_course("C", enrolments=enrolled(TEN))])
    leavers = tuple(f"u{i}" for i in range(1, 10))
    changes = (Unenrol("C", (*leavers, "zz"), "t"), RemoveSegmentMembers("s", leavers, 10))
    acks = Acknowledgements(removals=frozenset({"C"}))
    result = _check(changes, existing=existing, desired=desired, acks=acks)
    assert [r.change for r in result.refused] == [changes[1]]
    assert result.changes == (Unenrol("C", ("zz",), "t"),)
    assert "awaits --allow-removals s" in result.held_back[0].message


def test_allowed_changes_keep_their_order() -> None:
    changes = (
        AddSegmentMembers("a", ("x",)),
        AddGroupMembers("C", "g", ("x",)),
        RemoveSegmentMembers("a", ("y",), 10),
    )
    assert _check(changes).changes == changes


@pytest.mark.parametrize(
    "acks",
    [
        Acknowledgements(removals=frozenset({"LAB/team"})),
        Acknowledgements(bounds=(("LAB/team", 9),)),
    ],
    ids=["allow-removals", "acknowledge-section"],
)
def test_a_name_that_is_a_segment_id_and_a_course_slash_group_is_refused(acks) -> None:
    changes = (
        RemoveSegmentMembers("LAB/team", ("a", "b", "c"), 4),  # a segment ID may hold "/"
        RemoveGroupMembers("LAB", "team", ("d", "e", "f"), 4),
    )
    with pytest.raises(UsageError) as caught:
        _check(changes, acks=acks)
    assert "LAB/team is ambiguous: LAB/team names both a group and a segment" in (
        caught.value.message
    )


def test_a_segment_that_only_gains_members_does_not_make_a_course_name_ambiguous() -> None:
    existing = existing_site([], [have_course("C", enrolments=enrolled(TEN))])
    unenrol = Unenrol("C", tuple(f"u{i}" for i in range(3)), "s")
    adds = AddSegmentMembers("C", ("u9",))
    allowed = _check((adds, unenrol), existing=existing, acks=Acknowledgements(frozenset({"C"})))
    assert set(allowed.changes) == {adds, unenrol} and not allowed.refused


@pytest.mark.parametrize(
    ("percent", "count", "limit"),
    [("18.4%", 375, 69), ("0.57%", 10_000, 57), ("33.3%", 1000, 333), ("25%", 10, 2)],
)
def test_a_decimal_percentage_allows_exactly_its_share(
    percent: str, count: int, limit: int
) -> None:
    assert PolicyConfig(max_removals=percent).removal_limit(count) == limit


def test_a_refused_unenrolment_holds_back_the_group_removals_it_causes() -> None:
    existing = existing_site([], [have_course("C", enrolments=enrolled(TEN))])
    unenrol = Unenrol("C", ("u1", "u2", "u3"), "s1")  # 3 of 10: past 25%
    leave_group = RemoveGroupMembers("C", "g", ("u1", "u2", "u3", "u4"), 20)
    result = _check((unenrol, leave_group), existing=existing)
    assert [r.change for r in result.refused] == [unenrol]
    # u4 leaves the group on its own account; u1..u3 only with the course, which waits.
    assert result.changes == (RemoveGroupMembers("C", "g", ("u4",), 20),)
    assert any("kept 3 users in C/g while their unenrolment from C awaits" in n.message
               for n in result.held_back)  # fmt: skip


ENROLLED = "s0 s1 s2 t0 t1 t2 t3"


def test_a_held_back_unenrolment_holds_back_its_group_removals_from_other_segments_groups() -> None:
    """s2's removal from S is refused, so their unenrolment (an entry of S) waits; the
    group bound to T, which keeps s2, still lost s2 in the plan, though s2 stays enrolled
    and in T after it."""
    desired = desired_site(
        [want_segment("S", "s0 s1"), want_segment("T", "s2 t0 t1 t2 t3")],
        [want_course("C", [want_group("g", segment="T")], [DesiredEnrolment("S", True)])],
    )
    existing = existing_site(
        [have_segment("S", "s0 s1 s2"), have_segment("T", "s2 t0 t1 t2 t3")],
        [have_course("C", [have_group("g", "s2 t0 t1 t2 t3")], enrolled(ENROLLED))],
    )
    changes = (
        RemoveGroupMembers("C", "g", ("s2",), 5),
        Unenrol("C", ("s2",), "S"),
        RemoveSegmentMembers("S", ("s2",), 3),
    )
    result = _check(changes, existing=existing, desired=desired)
    assert [r.change for r in result.refused] == [changes[2]]
    assert result.changes == ()
    held = [n.message for n in result.held_back]
    assert "kept 1 user in C while their removal from segment S awaits --allow-removals S" in held
    assert "kept 1 user in C/g while their unenrolment from C is held back (see above)" in held
