"""Check what apply did: re-read what it touched and say what still differs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from plutoctl.apply.report import FOLD, ApplyReport, items_of
from plutoctl.errors import LmsError
from plutoctl.lms.client import SiteClient
from plutoctl.lms.reader import ReadScope, read_site
from plutoctl.model import ExistingSite
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
    SitePlan,
    Step,
    Unenrol,
    UpdateGroup,
    UpdateSegment,
    course_of,
    group_subject,
    subject,
    usernames_of,
)


def verify_site(
    client: SiteClient,
    site_plan: SitePlan,
    report: ApplyReport,
    *,
    known: Mapping[int, str] | None = None,
) -> tuple[str, ...]:
    """Re-read what apply touched and return a line for everything that still differs.

    Only what the report says was done is checked: failures and skips are already
    listed. A read that fails yields one line saying verification was not possible.
    ``known`` (user id → username, learned before apply) spares looking users up again.
    """
    not_done = _not_done(report)
    checks = [c for c in site_plan.changes if items_of(c) and not _fully_not_done(c, not_done)]
    if not checks:
        return ()
    try:
        scope = replace(scope_of_changes(checks), known_users=dict(known or {}))
        existing = read_site(client, scope)
    except LmsError as exc:
        return (f"could not re-read the site to verify: {exc.message}",)
    notes: list[str] = []
    for change in checks:
        done = [i for i in items_of(change) if (change.step, subject(change), i) not in not_done]
        notes += differences(change, done, existing)
    return tuple(notes)


def _not_done(report: ApplyReport) -> set[tuple[Step, str, str]]:
    return {
        (r.step, r.subject, item)
        for r in (*report.failed, *report.skipped)
        for item in (r.items or (r.subject,))
    }


def _fully_not_done(change: Change, not_done: set[tuple[Step, str, str]]) -> bool:
    return all((change.step, subject(change), i) in not_done for i in items_of(change))


def scope_of_changes(changes: Iterable[Change]) -> ReadScope:
    """Return the read scope that covers every object and user the changes touch."""
    segments: set[str] = set()
    courses: set[str] = set()
    usernames: set[str] = set()
    for change in changes:
        course = course_of(change)
        if course is None:
            segments.add(subject(change))
        else:
            courses.add(course)
        usernames.update(usernames_of(change))
    # Ids and names only: no profile is needed to check or apply these changes.
    return ReadScope(
        segments=frozenset(segments),
        usernames=frozenset(usernames),
        courses=frozenset(courses),
        needs_custom_fields=False,
    )


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


def _course_differences(change: Change, done: Sequence[str], existing: ExistingSite) -> list[str]:
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
    return []


def _membership(
    what: str, change: Change, done: Sequence[str], members: frozenset[str]
) -> list[str]:
    is_add = change.kind.sign == "+"
    wrong = [u for u in done if (u in members) != is_add]
    if not wrong:
        return []
    state = "not in" if is_add else "still in"
    shown = ", ".join(wrong[:FOLD]) + (" …" if len(wrong) > FOLD else "")
    return [f"{len(wrong):,} user(s) {state} {what}: {shown}"]


def _fields(fields: Any) -> str:
    return f"name={fields.name!r} description={fields.description!r} visible={fields.visible}"
