"""simulate: the state a site is in after a plan's changes ran."""

from __future__ import annotations

import pytest
from plan_builders import enrolled, existing_site, have_course, have_group, have_segment
from support.simulate import simulate

from plutoctl.errors import PlanError
from plutoctl.model import SegmentFields
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
    Unenrol,
    UpdateGroup,
    UpdateSegment,
)


def _site():
    return existing_site(
        [have_segment("s", "a b", id=3)],
        [have_course("C", [have_group("g", "a", id=8)], enrolled("a b"))],
    )


def test_no_changes_is_the_same_state() -> None:
    assert simulate(_site(), ()) == _site()


def test_segment_changes() -> None:
    after = simulate(
        _site(),
        [
            CreateSegment("new", SegmentFields("New")),
            AddSegmentMembers("new", ("x",)),
            UpdateSegment("s", 3, SegmentFields("Renamed", "d", False), ()),
            AddSegmentMembers("s", ("c",)),
            RemoveSegmentMembers("s", ("a",), 2),
        ],
    )
    assert after.segments["new"].id < 0
    assert after.segments["new"].members == {"x"}
    assert after.segments["s"].fields == SegmentFields("Renamed", "d", False)
    assert after.segments["s"].members == {"b", "c"}
    assert "s" not in simulate(_site(), [DeleteSegment("s", 3, 2)]).segments


def test_new_ids_are_negative_and_distinct() -> None:
    after = simulate(
        _site(),
        [
            CreateSegment("x", SegmentFields("X")),
            CreateSegment("y", SegmentFields("Y")),
            CreateGroup("C", "h", "H", ""),
        ],
    )
    again = simulate(after, [CreateSegment("z", SegmentFields("Z"))])
    ids = [again.segments[k].id for k in "xyz"] + [again.courses["C"].groups["h"].id]
    assert all(i < 0 for i in ids)
    assert len(set(ids)) == len(ids)


def test_group_changes() -> None:
    after = simulate(
        _site(),
        [
            CreateGroup("C", "h", "H", "desc"),
            UpdateGroup("C", "g", 8, "G2", "d2", ()),
            AddGroupMembers("C", "h", ("a", "b")),
            RemoveGroupMembers("C", "g", ("a",), 1),
        ],
    )
    groups = after.courses["C"].groups
    assert (groups["h"].name, groups["h"].description, groups["h"].members) == (
        "H",
        "desc",
        {"a", "b"},
    )
    assert (groups["g"].name, groups["g"].description, groups["g"].members) == ("G2", "d2", set())
    assert "g" not in simulate(_site(), [DeleteGroup("C", "g", 8, 1)]).courses["C"].groups


def test_enrol_adds_a_role_and_unenrol_drops_enrolment_and_groups() -> None:
    after = simulate(_site(), [Enrol("C", "teacher", ("a", "z"), "s")])
    assert after.courses["C"].enrolments["a"] == {"student", "teacher"}
    assert after.courses["C"].enrolments["z"] == {"teacher"}
    gone = simulate(_site(), [Unenrol("C", ("a",), "s")])
    assert "a" not in gone.courses["C"].enrolments
    assert gone.courses["C"].groups["g"].members == frozenset()


@pytest.mark.parametrize(
    "change",
    [
        UpdateSegment("nope", 1, SegmentFields("N"), ()),
        AddSegmentMembers("nope", ("a",)),
        CreateSegment("s", SegmentFields("S")),
        CreateGroup("NOPE", "g", "G", ""),
        CreateGroup("C", "g", "G", ""),
        AddGroupMembers("C", "nope", ("a",)),
        Enrol("NOPE", "student", ("a",), "s"),
    ],
    ids=[
        "update-missing-segment",
        "add-to-missing-segment",
        "create-existing-segment",
        "group-in-missing-course",
        "create-existing-group",
        "add-to-missing-group",
        "enrol-in-missing-course",
    ],
)
def test_changes_to_missing_or_duplicate_objects_are_plan_errors(change) -> None:
    with pytest.raises(PlanError):
        simulate(_site(), [change])


def test_input_state_is_not_mutated() -> None:
    site = _site()
    simulate(site, [Unenrol("C", ("a",), "s"), DeleteSegment("s", 3, 2)])
    assert site == _site()
