"""Small builders of existing and desired state for the planner's tests."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping

from plutoctl.model import (
    DesiredCourse,
    DesiredEnrolment,
    DesiredGroup,
    DesiredSegment,
    DesiredSite,
    ExistingCourse,
    ExistingGroup,
    ExistingSegment,
    ExistingSite,
    SegmentFields,
)
from plutoctl.plan.changes.kinds import (
    AddGroupMembers,
    AddSegmentMembers,
    Change,
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

SITE = "demo"


def _stable_id(text: str) -> int:
    return zlib.crc32(text.encode()) % 10_000 + 1


def names(spec: str | Iterable[str]) -> frozenset[str]:
    """Return usernames from ``"a b c"`` or an iterable."""
    return frozenset(spec.split() if isinstance(spec, str) else spec)


def have_segment(
    idnumber: str,
    members: str | Iterable[str] | None = "",
    *,
    id: int = 0,
    name: str | None = None,
    description: str = "",
    visible: bool = True,
) -> ExistingSegment:
    fields = SegmentFields(name or idnumber.title(), description, visible)
    seg_id = id or (_stable_id(idnumber))
    return ExistingSegment(seg_id, idnumber, fields, None if members is None else names(members))


def want_segment(
    idnumber: str,
    members: str | Iterable[str] | None = "",
    *,
    name: str | None = None,
    description: str = "",
    visible: bool = True,
    is_additive: bool = False,
    is_protected: bool = False,
) -> DesiredSegment:
    fields = SegmentFields(name or idnumber.title(), description, visible)
    return DesiredSegment(
        idnumber,
        fields,
        None if members is None else names(members),
        is_additive=is_additive,
        is_protected=is_protected,
    )


def have_group(
    idnumber: str, members: str = "", *, id: int = 0, name: str | None = None, description=""
) -> ExistingGroup:
    group_id = id or (_stable_id(idnumber))
    return ExistingGroup(group_id, idnumber, name or idnumber.title(), description, names(members))


def have_course(
    shortname: str,
    groups: Iterable[ExistingGroup] = (),
    enrolments: Mapping[str, str] | None = None,
    *,
    id: int = 0,
) -> ExistingCourse:
    """``enrolments`` maps a username to space-separated role shortnames."""
    roles = {user: names(spec) for user, spec in (enrolments or {}).items()}
    return ExistingCourse(id or _stable_id(shortname), shortname, tuple(groups), roles)


def enrolled(users: str, role: str = "student") -> dict[str, str]:
    return {user: role for user in users.split()}


def want_group(
    idnumber: str, segment: str | None = None, *, name: str | None = None, description: str = ""
) -> DesiredGroup:
    return DesiredGroup(idnumber, name or idnumber.title(), description, segment)


def want_course(
    shortname: str,
    groups: Iterable[DesiredGroup] = (),
    enrolments: Iterable[DesiredEnrolment] = (),
) -> DesiredCourse:
    return DesiredCourse(shortname, {g.idnumber: g for g in groups}, tuple(enrolments))


def existing_site(
    segments: Iterable[ExistingSegment] = (),
    courses: Iterable[ExistingCourse] = (),
    *,
    incomplete: tuple[str, ...] = (),
) -> ExistingSite:
    return ExistingSite(
        SITE,
        {s.idnumber: s for s in segments},
        {},
        {c.shortname: c for c in courses},
        incomplete=incomplete,
    )


def desired_site(
    segments: Iterable[DesiredSegment] = (), courses: Iterable[DesiredCourse] = ()
) -> DesiredSite:
    return DesiredSite(SITE, {s.idnumber: s for s in segments}, {c.shortname: c for c in courses})


FIELDS = SegmentFields(name="Sales", description="", visible=True)

# One change of every kind; tests/plan/test_change_kinds.py keeps it so.
ONE_OF_EACH: tuple[Change, ...] = (
    CreateSegment("seg", FIELDS),
    UpdateSegment("seg", 7, FIELDS, (("name", "Old", "Sales"),)),
    DeleteSegment("seg", 7, 3),
    AddSegmentMembers("seg", ("a", "b")),
    RemoveSegmentMembers("seg", ("c",), 5),
    CreateGroup("C1", "g", "G", ""),
    UpdateGroup("C1", "g", 9, "G", "", (("name", "Old", "G"),)),
    DeleteGroup("C1", "g", 9, 2),
    AddGroupMembers("C1", "g", ("a",)),
    RemoveGroupMembers("C1", "g", ("b", "c"), 4),
    Enrol("C1", "student", ("a", "b", "d"), "seg"),
    Unenrol("C1", ("e",), "seg"),
)
