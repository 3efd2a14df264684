"""The table of change kinds: one entry per change class, and what follows from it."""

from __future__ import annotations

import dataclasses
import typing

import pytest
from plan_builders import ONE_OF_EACH

from plutoctl.lms.functions import FUNCTIONS
from plutoctl.plan.changes.base import Kind, Target
from plutoctl.plan.changes.kinds import (
    APPLY_PHASES,
    KIND_OF,
    KIND_OF_STEP,
    KINDS,
    WRITE_FUNCTIONS,
    AddSegmentMembers,
    Change,
    DeleteGroup,
    DeleteSegment,
    RemoveGroupMembers,
    RemoveSegmentMembers,
    Step,
    Unenrol,
    UpdateGroup,
    UpdateSegment,
)
from plutoctl.plan.changes.subjects import (
    course_of,
    group_idnumber,
    item_count,
    subject,
    usernames_of,
)
from plutoctl.plan.summary import SUMMARY_LABELS, SiteSummary


def test_every_change_class_has_exactly_one_kind() -> None:
    classes = typing.get_args(Change)
    assert len(classes) == len(set(classes))
    assert sorted(k.change.__name__ for k in KINDS) == sorted(c.__name__ for c in classes)
    assert set(KIND_OF) == set(classes)


def test_every_step_is_used_once() -> None:
    steps = [kind.step for kind in KINDS]
    assert sorted(steps) == list(Step)


def test_the_examples_cover_every_kind() -> None:
    missing = [k.change.__name__ for k in KINDS if k.change not in {type(c) for c in ONE_OF_EACH}]
    assert not missing, f"ONE_OF_EACH has no change of kind {', '.join(missing)}: add one"
    assert sorted(type(c).__name__ for c in ONE_OF_EACH) == sorted(k.change.__name__ for k in KINDS)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.action)
def test_a_kind_describes_its_class(kind: Kind) -> None:
    names = {f.name for f in dataclasses.fields(kind.change)}
    assert kind.lists_users == ("usernames" in names)
    expected = {
        Target.SEGMENT: "idnumber" in names and "course" not in names,
        Target.GROUP: {"course", "idnumber"} <= names,
        Target.COURSE: "course" in names and "idnumber" not in names,
    }
    assert expected[kind.target]
    assert kind.summary in SiteSummary().as_dict()
    assert kind.summary_label[:1].isupper()
    assert kind.sign in ("+", "~", "-")


def test_the_summary_counts_the_kinds_in_table_order() -> None:
    keys = list(SiteSummary().as_dict())
    counts = [key for key in keys if key != "api_calls"]
    assert counts == [k.summary for k in KINDS]
    assert keys == [*counts, "api_calls"]
    assert [key for key, _label in SUMMARY_LABELS] == counts


def test_the_summary_keys_keep_their_order_and_new_kinds_come_after() -> None:
    # The plan JSON's summary object: readers may rely on its order.
    keys = list(SiteSummary().as_dict())
    assert keys[:12] == [
        "segments_create", "segments_update", "segments_delete", "members_add",
        "members_remove", "groups_create", "groups_update", "groups_delete",
        "group_members_add", "group_members_remove", "enrol", "unenrol",
    ]  # fmt: skip
    assert keys[-1] == "api_calls"


def test_every_kind_is_written_by_a_registered_write_function() -> None:
    for kind in KINDS:
        assert kind.function in FUNCTIONS, kind.action
        assert FUNCTIONS[kind.function].is_write, kind.action


def test_summary_counts_and_functions_are_one_per_kind() -> None:
    assert len({k.summary for k in KINDS}) == len(KINDS)
    assert len({k.summary_label for k in KINDS}) == len(KINDS)
    assert len({k.function for k in KINDS}) == len(KINDS)
    assert {k.step: k.function for k in KINDS} == WRITE_FUNCTIONS


def test_removals_are_the_deletes_member_removals_and_unenrolments() -> None:
    removals = {k.change for k in KINDS if k.is_removal}
    assert removals == {
        DeleteSegment,
        DeleteGroup,
        RemoveSegmentMembers,
        RemoveGroupMembers,
        Unenrol,
    }, "a new removal kind: add it here once plutoctl.plan.safety's rule for it is decided"
    assert {k.change for k in KINDS if k.sign == "~"} == {UpdateSegment, UpdateGroup}, (
        "a new kind that updates in place: add it here once its safety is decided"
    )


def test_apply_phases_hold_every_step_once_and_removals_last() -> None:
    flat = [step for phase in APPLY_PHASES for step in phase]
    assert sorted(flat) == list(Step)
    first_removal = min(i for i, phase in enumerate(APPLY_PHASES) for s in phase if _removes(s))
    assert all(_removes(s) for phase in APPLY_PHASES[first_removal:] for s in phase), (
        "no phase after the first removal may add"
    )


def _removes(step: Step) -> bool:
    return KIND_OF_STEP[step].is_removal


def test_actions_and_labels_follow_the_step_names() -> None:
    assert [k.action for k in KINDS if k.change is AddSegmentMembers] == ["add_segment_members"]
    assert [k.label for k in KINDS if k.change is Unenrol] == ["unenrol"]


def test_subject_names_segments_groups_and_courses() -> None:
    subjects = [subject(c) for c in ONE_OF_EACH]
    assert subjects == ["seg"] * 5 + ["C1/g"] * 5 + ["C1"] * 2


def test_course_and_group_of_a_change() -> None:
    assert [course_of(c) for c in ONE_OF_EACH] == [None] * 5 + ["C1"] * 7
    assert [group_idnumber(c) for c in ONE_OF_EACH] == [None] * 5 + ["g"] * 5 + [None] * 2


def test_usernames_and_items_of_a_change() -> None:
    assert [usernames_of(c) for c in ONE_OF_EACH] == [
        (),
        (),
        (),
        ("a", "b"),
        ("c",),
        (),
        (),
        (),
        ("a",),
        ("b", "c"),
        ("a", "b", "d"),
        ("e",),
    ]
    assert [item_count(c) for c in ONE_OF_EACH] == [1, 1, 1, 2, 1, 1, 1, 1, 1, 2, 3, 1]


def test_a_change_knows_its_kind_and_step() -> None:
    for change in ONE_OF_EACH:
        assert change.kind is KIND_OF[type(change)]
        assert change.step is change.kind.step
