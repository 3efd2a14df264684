"""Knock-on effects of a refusal: the changes that cannot or must not run without it.

When the safety policy (``plutoctl.plan.safety``) refuses a change, others follow:

- member adds to a segment whose create is refused are refused with it (they cannot
  succeed);
- when a segment's member removals are refused, the removals they would drag along
  (from the groups bound to the segment, and unenrolments of the same users from the
  courses it enrols) are held back, with a notice naming the flag that releases them.

See "Knock-on effects of a refusal" in docs/safety.md.
"""

from __future__ import annotations

from dataclasses import replace

from plutoctl.model import DesiredSite
from plutoctl.plan.changes.base import group_subject
from plutoctl.plan.changes.kinds import (
    AddSegmentMembers,
    Change,
    CreateSegment,
    RemoveGroupMembers,
    RemoveSegmentMembers,
    Unenrol,
)
from plutoctl.plan.changes.plans import Notice, Refusal
from plutoctl.plan.changes.subjects import allow_flag, subject
from plutoctl.plan.summary import plural


def refuse_adds_to_refused_creates(kept: list[Change], refused: list[Refusal]) -> list[Refusal]:
    """Refuse member adds to a segment whose create was refused: they cannot succeed."""
    blocked = {r.change.idnumber: r for r in refused if isinstance(r.change, CreateSegment)}
    extra = []
    for change in kept:
        if isinstance(change, AddSegmentMembers) and change.idnumber in blocked:
            first = blocked[change.idnumber]
            reason = f"segment {change.idnumber} is not created until acknowledged"
            extra.append(Refusal(change, reason, first.acknowledge))
    return extra


Held = dict[str, set[str]]
"""Course → the users whose unenrolment from it waits with a refusal."""


def hold_back_dragged_removals(
    kept: list[Change], refused: list[Refusal], desired: DesiredSite
) -> tuple[list[Change], tuple[Notice, ...], Held]:
    """Keep users whose removal from a segment was refused in its groups and courses;
    return the changes left, the notices, and the unenrolments held back.

    A refused segment removal may be a mistake (a rule gone wrong); the group removals
    and unenrolments of the same users follow from it, so they wait with it.
    """
    spared: dict[str, frozenset[str]] = {
        r.change.idnumber: frozenset(r.change.usernames)
        for r in refused
        if isinstance(r.change, RemoveSegmentMembers)
    }
    if not spared:
        return kept, (), {}
    bound = _bound_segments(desired)
    result: list[Change] = []
    notices: list[Notice] = []
    held: Held = {}
    for change in kept:
        segments, usernames = _dragged_by(change, bound)
        overlaps = {s: spared[s] & frozenset(usernames) for s in segments if s in spared}
        overlap = frozenset().union(*overlaps.values())
        result += _rest(change, overlap)
        if isinstance(change, Unenrol) and overlap:
            held.setdefault(change.course, set()).update(overlap)
        for segment, names in overlaps.items():
            if not names:
                continue
            message = (
                f"kept {plural(len(names), 'user')} in {subject(change)} while their removal "
                f"from segment {segment} awaits {allow_flag('--allow-removals', segment)}"
            )
            notices.append(Notice("warning", message, subject(change)))
    return result, tuple(notices), held


def hold_back_groups_of_refused_unenrolments(
    kept: list[Change], refused: list[Refusal], held: Held
) -> tuple[list[Change], tuple[Notice, ...]]:
    """Keep users whose unenrolment was refused, or held back with a refused segment
    removal (``held``), in the course's groups: they leave a group only because they
    leave the course, so that waits with the unenrolment."""
    spared: Held = {}
    for refusal in refused:
        if isinstance(refusal.change, Unenrol):
            spared.setdefault(refusal.change.course, set()).update(refusal.change.usernames)
    if not spared and not held:
        return kept, ()
    result: list[Change] = []
    notices: list[Notice] = []
    for change in kept:
        if not isinstance(change, RemoveGroupMembers):
            result.append(change)
            continue
        course, usernames = change.course, frozenset(change.usernames)
        refused_here = frozenset(spared.get(course, ())) & usernames
        held_here = frozenset(held.get(course, ())) & usernames - refused_here
        result += _rest(change, refused_here | held_here)
        whom = f"kept {{}} in {subject(change)} while their unenrolment from {course}"
        if refused_here:
            flag = allow_flag("--allow-removals", course)
            message = whom.format(plural(len(refused_here), "user")) + f" awaits {flag}"
            notices.append(Notice("warning", message, subject(change)))
        if held_here:
            message = whom.format(plural(len(held_here), "user")) + " is held back (see above)"
            notices.append(Notice("warning", message, subject(change)))
    return result, tuple(notices)


def _bound_segments(desired: DesiredSite) -> dict[str, tuple[str, ...]]:
    """Return ``COURSE/GROUP`` → the segment bound to that group, and ``COURSE`` → the
    segments of its enrol entries (an unenrolment follows from any of them)."""
    bound: dict[str, tuple[str, ...]] = {}
    for course in desired.courses.values():
        bound[course.shortname] = tuple(dict.fromkeys(e.segment for e in course.enrolments))
        for gid, group in course.groups.items():
            if group.segment:
                bound[group_subject(course.shortname, gid)] = (group.segment,)
    return bound


def _dragged_by(
    change: Change, bound: dict[str, tuple[str, ...]]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return the segments whose removals a change follows from, and its usernames."""
    match change:
        case RemoveGroupMembers(usernames=usernames):
            return bound.get(subject(change), ()), usernames
        case Unenrol(course=course, segment=segment, usernames=usernames):
            return bound.get(course, (segment,)), usernames
        case _:
            return (), ()


def _rest(change: Change, kept: frozenset[str]) -> list[Change]:
    """Return the change without the users ``kept`` back: itself, trimmed, or nothing."""
    if not kept:
        return [change]
    trimmed = _without(change, kept)
    return [trimmed] if trimmed is not None else []


def _without(change: Change, names: frozenset[str]) -> Change | None:
    """Return the change without ``names``, or None when nobody is left."""
    match change:
        case RemoveGroupMembers(usernames=usernames) | Unenrol(usernames=usernames):
            rest = tuple(u for u in usernames if u not in names)
            return replace(change, usernames=rest) if rest else None
        case _:
            return change
