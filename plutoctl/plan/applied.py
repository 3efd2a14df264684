"""Whether a site already is what a plan would make it (pure).

A saved plan applied twice finds the site changed since the plan was made: by the
plan itself. Then every change of the plan is already true of the site, and apply
says so instead of calling the plan stale. One change that is not yet true (someone
else's edit, or a half-finished apply) and the plan is stale as before.
"""

from __future__ import annotations

from collections.abc import Iterable

from plutoctl.model import ExistingCourse, ExistingGroup, ExistingSite
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
)


def is_already_applied(changes: Iterable[Change], existing: ExistingSite) -> bool:
    """Return whether every change is already true of ``existing``."""
    return all(_holds(change, existing) for change in changes)


def _holds(change: Change, existing: ExistingSite) -> bool:
    match change:
        case (
            CreateSegment(idnumber=sid, fields=fields) | UpdateSegment(idnumber=sid, fields=fields)
        ):
            segment = existing.segments.get(sid)
            return segment is not None and segment.fields == fields
        case DeleteSegment(idnumber=sid):
            return sid not in existing.segments
        case AddSegmentMembers(idnumber=sid, usernames=names):
            members = _segment_members(existing, sid)
            return members is not None and members.issuperset(names)
        case RemoveSegmentMembers(idnumber=sid, usernames=names):
            members = _segment_members(existing, sid)
            return members is not None and members.isdisjoint(names)
    course = existing.courses.get(course_of(change) or "")
    return course is not None and _holds_in_course(change, course)


def _holds_in_course(change: Change, course: ExistingCourse) -> bool:
    match change:
        case (
            CreateGroup(idnumber=gid, name=name, description=description)
            | UpdateGroup(idnumber=gid, name=name, description=description)
        ):
            group = course.groups.get(gid)
            return group is not None and (group.name, group.description) == (name, description)
        case DeleteGroup(idnumber=gid):
            return gid not in course.groups
        case AddGroupMembers(idnumber=gid, usernames=names):
            group = course.groups.get(gid)
            return group is not None and group.members.issuperset(names)
        case RemoveGroupMembers(idnumber=gid, usernames=names):
            found: ExistingGroup | None = course.groups.get(gid)
            return found is None or found.members.isdisjoint(names)
        case Enrol(role=role, usernames=names):
            return all(role in course.enrolments.get(name, ()) for name in names)
        case Unenrol(usernames=names):
            return all(name not in course.enrolments for name in names)
    return False


def _segment_members(existing: ExistingSite, sid: str) -> frozenset[str] | None:
    segment = existing.segments.get(sid)
    return None if segment is None else segment.members
