"""Whether a site already is what a plan would make it: true, stale, or not read."""

from __future__ import annotations

from plutoctl.model import (
    ExistingCourse,
    ExistingGroup,
    ExistingSegment,
    ExistingSite,
    SegmentFields,
)
from plutoctl.plan.applied import differences, is_already_applied
from plutoctl.plan.changes.kinds import (
    AddSegmentMembers,
    DeleteGroup,
    Enrol,
    RemoveGroupMembers,
    RemoveSegmentMembers,
    Unenrol,
    UpdateSegment,
)

FIELDS = SegmentFields(name="Sales", description="", visible=True)


def _site(members: frozenset[str] | None = frozenset({"a"}), courses: bool = True) -> ExistingSite:
    group = ExistingGroup(5, "g", "G", "", frozenset({"a"}))
    course = ExistingCourse(9, "C1", (group,), {"a": frozenset({"student"})})
    return ExistingSite(
        site="s",
        segments={"seg": ExistingSegment(1, "seg", FIELDS, members)},
        users={},
        courses={"C1": course} if courses else {},
    )


def test_changes_true_of_the_site_are_already_applied() -> None:
    changes = [
        UpdateSegment("seg", 1, FIELDS, ()),
        AddSegmentMembers("seg", ("a",)),
        RemoveSegmentMembers("seg", ("b",), 2),
        Enrol("C1", "student", ("a",), "seg"),
        Unenrol("C1", ("b",), "seg"),
        RemoveGroupMembers("C1", "g", ("b",), 2),
    ]
    assert is_already_applied(changes, _site())


def test_one_change_not_yet_true_makes_the_plan_stale() -> None:
    assert not is_already_applied([AddSegmentMembers("seg", ("b",))], _site())
    assert differences(AddSegmentMembers("seg", ("b",)), ("b",), _site()) == [
        "1 user(s) not in segment seg: b"
    ]


def test_a_removal_judged_by_state_not_read_is_not_already_applied() -> None:
    # The members (or the course) were not read: nobody can say the removal holds,
    # although apply's verification finds nothing to contradict it.
    unread = _site(members=None)
    assert not is_already_applied([RemoveSegmentMembers("seg", ("b",), 2)], unread)
    assert differences(RemoveSegmentMembers("seg", ("b",), 2), ("b",), unread) == []
    no_course = _site(courses=False)
    assert not is_already_applied([Unenrol("C1", ("b",), "seg")], no_course)
    assert not is_already_applied([DeleteGroup("C1", "g", 5, 0)], no_course)


def test_a_group_gone_from_a_read_course_has_no_members_to_remove() -> None:
    assert is_already_applied([RemoveGroupMembers("C1", "gone", ("a",), 1)], _site())
