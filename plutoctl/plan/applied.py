"""What a change means for the site's state, read back (pure).

``differences`` says what about a change the site contradicts: apply's verification
re-reads what it touched and reports these. ``is_already_applied`` is the same check
over a whole plan, stricter only where the state was not read: a saved plan applied
twice finds the site changed since the plan was made, by the plan itself; then every
change of the plan is already true of the site, and apply says so instead of calling
the plan stale. One change that is not yet true (someone else's edit, or a
half-finished apply), or whose course or segment members were not read, and the
plan is stale as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import assert_never

from plutoctl.model import ExistingSite, SegmentFields
from plutoctl.plan.changes import (
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
    course_of,
    group_subject,
    items_of,
    subject,
)
from plutoctl.plan.render.common import FOLD_AT

_CourseChange = (
    Enrol | Unenrol | CreateGroup | UpdateGroup | DeleteGroup | AddGroupMembers | RemoveGroupMembers
)
"""The kinds checked against a course; a kind with no check here fails type checking."""


def is_already_applied(changes: Iterable[Change], existing: ExistingSite) -> bool:
    """Return whether every change is already true of ``existing``."""
    return all(
        _is_read(change, existing) and not differences(change, items_of(change), existing)
        for change in changes
    )


def _is_read(change: Change, existing: ExistingSite) -> bool:
    """Return whether the state a change is judged by was read: its course, or its
    segment's members."""
    course = course_of(change)
    if course is not None:
        return course in existing.courses
    if change.kind.lists_users:
        segment = existing.segments.get(subject(change))
        return segment is not None and segment.members is not None
    return True


def differences(change: Change, done: Sequence[str], existing: ExistingSite) -> list[str]:
    """Return what about ``change`` (its ``done`` items) the re-read state contradicts."""
    if not done:
        return []
    match change:
        case (
            CreateSegment(idnumber=sid, fields=fields) | UpdateSegment(idnumber=sid, fields=fields)
        ):
            seg = existing.segments.get(sid)
            if seg is None:
                return [f"segment {sid} is missing"]
            if seg.fields != fields:
                return [f"segment {sid} has {_fields(seg.fields)}, wanted {_fields(fields)}"]
            return []
        case DeleteSegment(idnumber=sid):
            return [f"segment {sid} still exists"] if sid in existing.segments else []
        case AddSegmentMembers(idnumber=sid) | RemoveSegmentMembers(idnumber=sid):
            seg = existing.segments.get(sid)
            members = seg.members if seg is not None and seg.members is not None else frozenset()
            return _membership(f"segment {sid}", change, done, members)
        case _:
            return _course_differences(change, done, existing)


def _course_differences(
    change: _CourseChange, done: Sequence[str], existing: ExistingSite
) -> list[str]:
    match change:
        case Enrol(course=c, role=role):
            course = existing.courses.get(c)
            roles = course.enrolments if course else {}
            enrolled = frozenset(u for u in done if role in roles.get(u, ()))
            return _membership(f"course {c} as {role}", change, done, enrolled)
        case Unenrol(course=c):
            course = existing.courses.get(c)
            enrolled = frozenset(course.enrolments) if course else frozenset()
            return _membership(f"course {c}", change, done, enrolled)
        case (
            CreateGroup(course=c, idnumber=g, name=name, description=description)
            | UpdateGroup(course=c, idnumber=g, name=name, description=description)
        ):
            group = existing.courses[c].groups.get(g) if c in existing.courses else None
            if group is None:
                return [f"group {group_subject(c, g)} is missing"]
            if (group.name, group.description) != (name, description):
                return [f"group {group_subject(c, g)} has name {group.name!r}, wanted {name!r}"]
            return []
        case DeleteGroup(course=c, idnumber=g):
            there = c in existing.courses and g in existing.courses[c].groups
            return [f"group {group_subject(c, g)} still exists"] if there else []
        case AddGroupMembers(course=c, idnumber=g) | RemoveGroupMembers(course=c, idnumber=g):
            group = existing.courses[c].groups.get(g) if c in existing.courses else None
            members = group.members if group is not None else frozenset()
            return _membership(f"group {group_subject(c, g)}", change, done, members)
        case _:
            assert_never(change)


def _membership(
    what: str, change: Change, done: Sequence[str], members: frozenset[str]
) -> list[str]:
    is_add = change.kind.sign == "+"
    wrong = [u for u in done if (u in members) != is_add]
    if not wrong:
        return []
    state = "not in" if is_add else "still in"
    shown = ", ".join(wrong[:FOLD_AT]) + (" …" if len(wrong) > FOLD_AT else "")
    return [f"{len(wrong):,} user(s) {state} {what}: {shown}"]


def _fields(fields: SegmentFields) -> str:
    return f"name={fields.name!r} description={fields.description!r} visible={fields.visible}"
