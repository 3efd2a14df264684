"""Table tests for diff_site: every change kind, ordering, notices and held-back removals."""

from __future__ import annotations

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

from plutoctl.model import DesiredEnrolment, SegmentFields
from plutoctl.plan.changes.kinds import (
    AddGroupMembers,
    AddSegmentMembers,
    CreateGroup,
    CreateSegment,
    DeleteGroup,
    DeleteSegment,
    Enrol,
    RemoveGroupMembers,
    RemoveSegmentMembers,
    Step,
    Unenrol,
    UpdateGroup,
    UpdateSegment,
)
from plutoctl.plan.changes.plans import Notice
from plutoctl.plan.diff import diff_site, field_changes

# --- segments ------------------------------------------------------------------------


def test_identical_state_has_no_changes() -> None:
    desired = desired_site([want_segment("dept-sales", "a b")])
    existing = existing_site([have_segment("dept-sales", "a b")])
    result = diff_site(desired, existing, unmanaged="delete")
    assert result.changes == ()
    assert result.notices == ()
    assert result.held_back == ()


def test_absent_segment_is_created_with_all_members_added() -> None:
    desired = desired_site([want_segment("dept-sales", "b a", name="Sales")])
    result = diff_site(desired, existing_site())
    assert result.changes == (
        CreateSegment("dept-sales", SegmentFields("Sales")),
        AddSegmentMembers("dept-sales", ("a", "b")),
    )


def test_created_segment_without_members_gets_no_add() -> None:
    desired = desired_site([want_segment("empty", None)])
    assert diff_site(desired, existing_site()).changes == (
        CreateSegment("empty", SegmentFields("Empty")),
    )


@pytest.mark.parametrize(
    ("have_kwargs", "want_kwargs", "changed"),
    [
        ({"name": "Old"}, {"name": "New"}, (("name", "Old", "New"),)),
        ({"description": ""}, {"description": "x"}, (("description", "", "x"),)),
        ({"visible": True}, {"visible": False}, (("visible", True, False),)),
        (
            {"name": "A", "visible": False},
            {"name": "B", "visible": True},
            (("name", "A", "B"), ("visible", False, True)),
        ),
    ],
    ids=["name", "description", "visible", "two-fields-sorted"],
)
def test_field_update_lists_old_and_new(have_kwargs, want_kwargs, changed) -> None:
    existing = existing_site([have_segment("s", "a", id=7, **have_kwargs)])
    desired = desired_site([want_segment("s", "a", **want_kwargs)])
    (change,) = diff_site(desired, existing).changes
    assert change == UpdateSegment("s", 7, desired.segments["s"].fields, changed)


def test_a_segment_to_create_whose_id_the_site_holds_in_another_case_is_warned_of() -> None:
    desired = desired_site([want_segment("Dept-Sales", "a"), want_segment("dept-eng", "b")])
    existing = existing_site([have_segment("dept-sales", "a"), have_segment("dept-eng", "b")])
    result = diff_site(desired, existing)
    assert CreateSegment("Dept-Sales", SegmentFields("Dept-Sales")) in result.changes
    [warning] = result.notices
    assert (warning.level, warning.where) == ("warning", "Dept-Sales")
    assert "the site has segment dept-sales" in warning.message
    assert "name it dept-sales in the config" in warning.message


@pytest.mark.parametrize("to_create", ["vertrieb-munchen", "vertrieb-mu\u0308nchen"])
def test_a_segment_to_create_whose_id_the_site_holds_with_other_accents_is_warned_of(
    to_create: str,
) -> None:
    desired = desired_site([want_segment(to_create, "a")])
    existing = existing_site([have_segment("vertrieb-m\u00fcnchen", "a")])
    [warning] = diff_site(desired, existing).notices
    assert "whose ID differs only in case, accents or how its letters are written" in (
        warning.message
    )
    assert "name it vertrieb-m\u00fcnchen in the config" in warning.message


def test_exact_membership_adds_and_removes() -> None:
    existing = existing_site([have_segment("s", "a b c d")])
    desired = desired_site([want_segment("s", "c d e")])
    assert diff_site(desired, existing).changes == (
        AddSegmentMembers("s", ("e",)),
        RemoveSegmentMembers("s", ("a", "b"), 4),
    )


def test_additive_membership_adds_only_and_holds_back_removals() -> None:
    existing = existing_site([have_segment("dept-x", "a b c")])
    desired = desired_site([want_segment("dept-x", "c d", is_additive=True)])
    result = diff_site(desired, existing)
    assert result.changes == (AddSegmentMembers("dept-x", ("d",)),)
    assert result.held_back == (
        Notice("info", "kept 2 members of dept-x: membership is additive", "dept-x"),
    )


def test_unmanaged_membership_is_left_alone() -> None:
    existing = existing_site([have_segment("s", "a b")])
    desired = desired_site([want_segment("s", None)])
    assert diff_site(desired, existing).changes == ()


def test_unread_members_are_not_planned_and_say_so() -> None:
    existing = existing_site([have_segment("s", None)])
    desired = desired_site([want_segment("s", "a")])
    result = diff_site(desired, existing)
    assert result.changes == ()
    assert [n.level for n in result.notices] == ["warning"]
    assert "were not read" in result.notices[0].message


# --- unmanaged segments ----------------------------------------------------------------


def _unmanaged_case():
    existing = existing_site(
        [
            have_segment("kept", "a"),
            have_segment("stray", "a b", id=5),
            have_segment("scoped-out", "a"),
            have_segment("", "a"),  # no idnumber: never ours
        ]
    )
    return desired_site([want_segment("kept", "a")]), existing


@pytest.mark.parametrize(
    ("policy", "changes", "notices"),
    [
        ("ignore", (), ()),
        ("report", (), (Notice("info", "unmanaged segment stray (2 members)", "stray"),)),
        ("delete", (DeleteSegment("stray", 5, 2),), ()),
    ],
    ids=["ignore", "report", "delete"],
)
def test_unmanaged_segments_follow_policy(policy, changes, notices) -> None:
    desired, existing = _unmanaged_case()
    result = diff_site(desired, existing, unmanaged=policy, managed_scope={"scoped-out"})
    assert result.changes == changes
    assert result.notices == notices


def test_unmanaged_segment_with_unread_members_is_not_deleted() -> None:
    existing = existing_site([have_segment("stray", None)])
    result = diff_site(desired_site(), existing, unmanaged="delete")
    assert result.changes == ()
    assert "not deleted" in result.notices[0].message


# --- groups --------------------------------------------------------------------------


def test_group_create_and_update_with_old_and_new() -> None:
    existing = existing_site(
        courses=[have_course("C1", [have_group("g1", id=3, name="Old", description="d")])]
    )
    desired = desired_site(
        courses=[
            want_course(
                "C1",
                [want_group("g1", name="New", description="d"), want_group("g2", name="Two")],
            )
        ]
    )
    assert diff_site(desired, existing).changes == (
        CreateGroup("C1", "g2", "Two", ""),
        UpdateGroup("C1", "g1", 3, "New", "d", (("name", "Old", "New"),)),
    )


def test_undeclared_groups_are_deleted_only_under_delete_policy() -> None:
    course = have_course("C1", [have_group("g1"), have_group("extra", "a", id=9), have_group("")])
    existing = existing_site(courses=[course])
    desired = desired_site(courses=[want_course("C1", [want_group("g1")])])
    assert diff_site(desired, existing, unmanaged="report").changes == ()
    assert diff_site(desired, existing, unmanaged="delete").changes == (
        DeleteGroup("C1", "extra", 9, 1),
    )


def test_group_name_clash_is_an_error_notice_not_a_create() -> None:
    course = have_course("C1", [have_group("", name="sales team")])
    existing = existing_site(courses=[course])
    desired = desired_site(courses=[want_course("C1", [want_group("g1", name="Sales Team")])])
    result = diff_site(desired, existing)
    assert result.changes == ()
    (notice,) = result.notices
    assert notice.level == "error"
    assert notice.where == "C1/g1"
    assert "already named 'Sales Team'" in notice.message


def test_rename_onto_a_taken_name_keeps_name_but_updates_description() -> None:
    course = have_course("C1", [have_group("g1", id=4, name="A"), have_group("g2", name="B")])
    existing = existing_site(courses=[course])
    desired = desired_site(
        courses=[
            want_course(
                "C1", [want_group("g1", name="B", description="new"), want_group("g2", name="B")]
            )
        ]
    )
    result = diff_site(desired, existing)
    changed = (("description", "", "new"),)
    assert result.changes == (UpdateGroup("C1", "g1", 4, "A", "new", changed),)
    assert [n.where for n in result.notices] == ["C1/g1"]


def test_two_new_groups_with_one_name_clash_with_each_other() -> None:
    existing = existing_site(courses=[have_course("C1")])
    desired = desired_site(
        courses=[want_course("C1", [want_group("a", name="X"), want_group("b", name="x")])]
    )
    result = diff_site(desired, existing)
    assert result.changes == (CreateGroup("C1", "a", "X", ""),)
    assert [n.where for n in result.notices] == ["C1/b"]


def test_missing_course_is_an_error_notice() -> None:
    desired = desired_site(courses=[want_course("NOPE", [want_group("g")])])
    result = diff_site(desired, existing_site())
    assert result.changes == ()
    assert result.notices[0].level == "error"
    assert "NOPE does not exist" in result.notices[0].message


# --- group membership and enrolment ---------------------------------------------------------


def test_group_members_are_enrolled_segment_members() -> None:
    existing = existing_site(
        [have_segment("s", "a b c")],
        [have_course("C1", [have_group("g", "c x")], enrolled("a c x"))],
    )
    desired = desired_site(
        [want_segment("s", "a b c")], [want_course("C1", [want_group("g", segment="s")])]
    )
    assert diff_site(desired, existing).changes == (
        AddGroupMembers("C1", "g", ("a",)),
        RemoveGroupMembers("C1", "g", ("x",), 2),
    )


def test_group_without_segment_has_unmanaged_members() -> None:
    existing = existing_site(courses=[have_course("C1", [have_group("g", "x")], enrolled("x"))])
    desired = desired_site(courses=[want_course("C1", [want_group("g")])])
    assert diff_site(desired, existing).changes == ()


def test_new_group_gets_members_enrolled_by_the_same_plan() -> None:
    existing = existing_site([have_segment("s", "a")], [have_course("C1", enrolments={})])
    desired = desired_site(
        [want_segment("s", "a b")],
        [want_course("C1", [want_group("g", segment="s")], [DesiredEnrolment("s")])],
    )
    assert diff_site(desired, existing).changes == (
        CreateGroup("C1", "g", "G", ""),
        AddSegmentMembers("s", ("b",)),
        Enrol("C1", "student", ("a", "b"), "s"),
        AddGroupMembers("C1", "g", ("a", "b")),
    )


def test_group_bound_to_segment_with_unmanaged_membership_uses_existing_members() -> None:
    existing = existing_site(
        [have_segment("s", "a b")], [have_course("C1", [have_group("g")], enrolled("a b"))]
    )
    desired = desired_site(
        [want_segment("s", None)], [want_course("C1", [want_group("g", segment="s")])]
    )
    assert diff_site(desired, existing).changes == (AddGroupMembers("C1", "g", ("a", "b")),)


def test_group_of_additive_segment_keeps_kept_members() -> None:
    existing = existing_site(
        [have_segment("s", "a b")], [have_course("C1", [have_group("g", "a b")], enrolled("a b"))]
    )
    desired = desired_site(
        [want_segment("s", "a", is_additive=True)],
        [want_course("C1", [want_group("g", segment="s")])],
    )
    assert diff_site(desired, existing).changes == ()


def test_enrol_only_users_without_the_role() -> None:
    existing = existing_site(
        [have_segment("s", "a b c")],
        [have_course("C1", enrolments={"a": "student", "b": "teacher"})],
    )
    desired = desired_site(
        [want_segment("s", "a b c")], [want_course("C1", enrolments=[DesiredEnrolment("s")])]
    )
    assert diff_site(desired, existing).changes == (Enrol("C1", "student", ("b", "c"), "s"),)


def test_two_entries_with_one_role_enrol_a_user_once() -> None:
    segments = [have_segment("s", "a b"), have_segment("t", "b c")]
    existing = existing_site(segments, [have_course("C")])
    desired = desired_site(
        [want_segment("s", "a b"), want_segment("t", "b c")],
        [want_course("C", enrolments=[DesiredEnrolment("s"), DesiredEnrolment("t")])],
    )
    assert diff_site(desired, existing).changes == (
        Enrol("C", "student", ("a", "b"), "s"),
        Enrol("C", "student", ("c",), "t"),
    )


def _leaver_case(*, allow_unenrol: bool, other_entry: bool = False, role: str = "student"):
    existing = existing_site(
        [have_segment("s", "a b c"), have_segment("t", "c")],
        [have_course("C", enrolments={"a": "student", "b": role, "c": "student"})],
    )
    entries = [DesiredEnrolment("s", allow_unenrol=allow_unenrol)]
    if other_entry:
        entries.append(DesiredEnrolment("t"))
    desired = desired_site(
        [want_segment("s", "a"), want_segment("t", "c")], [want_course("C", enrolments=entries)]
    )
    return diff_site(desired, existing)


def test_unenrol_leavers_only_when_allowed() -> None:
    result = _leaver_case(allow_unenrol=True)
    assert Unenrol("C", ("b", "c"), "s") in result.changes


def test_leavers_stay_enrolled_by_default_with_a_held_back_notice() -> None:
    result = _leaver_case(allow_unenrol=False)
    assert not [c for c in result.changes if isinstance(c, Unenrol)]
    (notice,) = result.held_back
    assert notice.message.startswith("kept 2 former members of s enrolled in C")


def test_leaver_wanted_by_another_entry_is_not_unenrolled() -> None:
    result = _leaver_case(allow_unenrol=True, other_entry=True)
    assert Unenrol("C", ("b",), "s") in result.changes


def test_leaver_enrolled_with_another_role_is_not_unenrolled() -> None:
    result = _leaver_case(allow_unenrol=True, role="teacher")
    assert Unenrol("C", ("c",), "s") in result.changes


def test_unenrolled_user_leaves_bound_group() -> None:
    existing = existing_site(
        [have_segment("s", "a b")], [have_course("C", [have_group("g", "a b")], enrolled("a b"))]
    )
    desired = desired_site(
        [want_segment("s", "a")],
        [
            want_course(
                "C",
                [want_group("g", segment="s")],
                [DesiredEnrolment("s", allow_unenrol=True)],
            )
        ],
    )
    assert diff_site(desired, existing).changes == (
        RemoveGroupMembers("C", "g", ("b",), 2),
        Unenrol("C", ("b",), "s"),
        RemoveSegmentMembers("s", ("b",), 2),
    )


# --- ordering and the field helper ----------------------------------------------------------


def test_changes_follow_step_order_then_subject() -> None:
    existing = existing_site(
        [have_segment("b-seg", "x"), have_segment("a-seg", "x"), have_segment("stray", "")],
        [have_course("C", [have_group("old", "x")], enrolled("x"))],
    )
    desired = desired_site(
        [want_segment("b-seg", "y", name="B2"), want_segment("a-seg", "y"), want_segment("new")],
        [want_course("C", [want_group("g", segment="a-seg")], [DesiredEnrolment("b-seg")])],
    )
    changes = diff_site(desired, existing, unmanaged="delete").changes
    steps = [c.step for c in changes]
    assert steps == sorted(steps)
    assert steps[0] is Step.CREATE_SEGMENT
    assert steps[-1] is Step.DELETE_SEGMENT
    adds = [c.idnumber for c in changes if isinstance(c, AddSegmentMembers)]
    assert adds == ["a-seg", "b-seg"]


def test_field_changes_reports_only_differences() -> None:
    assert field_changes({"a": 1, "b": "x"}, {"a": 1, "b": "y"}) == (("b", "x", "y"),)
    assert field_changes({"a": True}, {"a": True}) == ()
    assert field_changes({"a": 1}, {"a": 1, "b": 2}) == (("b", None, 2),)


def test_leaver_who_also_holds_an_unmanaged_role_is_not_unenrolled() -> None:
    existing = existing_site(
        [have_segment("s", "a b")],
        [have_course("C", enrolments={"a": "student teacher", "b": "student"})],
    )
    desired = desired_site(
        [want_segment("s", "")],
        [want_course("C", enrolments=[DesiredEnrolment("s", "student", True)])],
    )
    assert diff_site(desired, existing).changes == (
        Unenrol("C", ("b",), "s"),
        RemoveSegmentMembers("s", ("a", "b"), 2),
    )
