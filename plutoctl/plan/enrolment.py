"""Which enrolments a course's ``enrol:`` entries take away, from state alone.

An entry with ``unenrol: true`` *owns* the course's manual enrolments with its role:
anyone enrolled with an owned role whom no entry of the course wants is unenrolled.
The decision reads only what the site holds now and what the config wants, never who
left a segment since some earlier run (level-triggered, as a Kubernetes controller
is). So an unenrolment lost to an interrupted apply (the segment removal landed, the
unenrolment did not) is planned again by the next run, and a user enrolled with that
role by hand is unenrolled too. For users: "What ``unenrol: true`` owns" in
docs/config.md.

Guards, all read from the same state:

- Unenrolling takes every role the user holds in the course. A user who also holds
  a role that no ``unenrol: true`` entry of the course grants (a teacher, say) keeps
  the enrolment; the plan says how many it kept so.
- If the members of any entry's segment are unknown (not read, or the segment is
  neither configured nor on the site), nobody in the course is unenrolled: who is
  wanted cannot be known.
- A user enrolled without any role is left alone.

``max_removals`` and incomplete reads are applied afterwards, in
``plutoctl.plan.safety``, as for every other removal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from plutoctl.model import DesiredCourse, DesiredEnrolment, ExistingCourse
from plutoctl.plan.changes.kinds import Unenrol
from plutoctl.plan.changes.plans import Notice
from plutoctl.plan.summary import plural

Members = Mapping[str, frozenset[str] | None]
"""Segment ID → its members (usernames) once the plan has run, or None when unknown."""


@dataclass(frozen=True)
class Unenrolments:
    """The unenrolments of one course, and what the plan reader should know besides."""

    changes: tuple[Unenrol, ...] = ()
    notices: tuple[Notice, ...] = ()
    held_back: tuple[Notice, ...] = ()


def plan_unenrolments(
    want: DesiredCourse, have: ExistingCourse, after: Members, before: Members
) -> Unenrolments:
    """Return the unenrolments that make ``have`` hold only what ``want`` wants.

    ``after`` gives each entry segment's members once the plan has run; ``before``
    its members now. ``before`` only words the notice for entries that do not allow
    unenrol; no change depends on it.
    """
    owners = owning_entries(want)
    unknown = sorted({e.segment for e in want.enrolments if after.get(e.segment) is None})
    if owners and unknown:
        message = (
            f"no unenrolments planned in {have.shortname}: the members of segment(s) "
            f"{', '.join(unknown)} are unknown"
        )
        return Unenrolments(notices=(Notice("warning", message, have.shortname),))
    wanted = frozenset().union(*(after.get(e.segment) or frozenset() for e in want.enrolments))
    by_role, kept = _unwanted_by_owned_role(have, wanted, tuple(owners))
    changes = tuple(
        Unenrol(have.shortname, tuple(sorted(by_role[role])), owners[role].segment)
        for role in owners
        if by_role.get(role)
    )
    held = _kept_other_role(have, kept) + _kept_without_unenrol(want, have, wanted, after, before)
    return Unenrolments(changes, _disagreements(want, owners), held)


def owning_entries(want: DesiredCourse) -> dict[str, DesiredEnrolment]:
    """Return role → the first ``unenrol: true`` entry of the course with that role."""
    owners: dict[str, DesiredEnrolment] = {}
    for entry in want.enrolments:
        if entry.allow_unenrol:
            owners.setdefault(entry.role, entry)
    return owners


def _unwanted_by_owned_role(
    have: ExistingCourse, wanted: frozenset[str], owned: tuple[str, ...]
) -> tuple[dict[str, set[str]], dict[str, frozenset[str]]]:
    """Return (owned role → users to unenrol, user → roles of users kept for another role).

    A user to unenrol is listed once, under the first owned role they hold (in entry
    order), so that no two changes unenrol the same user.
    """
    by_role: dict[str, set[str]] = {}
    kept: dict[str, frozenset[str]] = {}
    for username, roles in have.enrolments.items():
        if username in wanted or roles.isdisjoint(owned):
            continue
        if not roles.issubset(owned):
            kept[username] = roles
            continue
        role = min(roles, key=owned.index)
        by_role.setdefault(role, set()).add(username)
    return by_role, kept


def _kept_other_role(
    have: ExistingCourse, kept: Mapping[str, frozenset[str]]
) -> tuple[Notice, ...]:
    if not kept:
        return ()
    others = sorted(frozenset().union(*kept.values()))
    message = (
        f"kept {plural(len(kept), 'user')} enrolled in {have.shortname} whom no entry wants: "
        f"they also hold a role no unenrol entry grants (roles held: {', '.join(others)})"
    )
    return (Notice("info", message, have.shortname),)


def _kept_without_unenrol(
    want: DesiredCourse,
    have: ExistingCourse,
    wanted: frozenset[str],
    after: Members,
    before: Members,
) -> tuple[Notice, ...]:
    """Say how many former members an entry without ``unenrol`` leaves enrolled."""
    owned = frozenset(owning_entries(want))
    granted = frozenset(e.role for e in want.enrolments)
    notices = []
    seen: set[str] = set()
    for entry in want.enrolments:
        was, will = before.get(entry.segment), after.get(entry.segment)
        if entry.allow_unenrol or entry.role in owned or was is None or will is None:
            continue
        leavers = {
            u
            for u in was - will - wanted - seen
            if entry.role in have.enrolments.get(u, ()) and have.enrolments[u] <= granted
        }
        if not leavers:
            continue
        seen |= leavers
        message = (
            f"kept {plural(len(leavers), 'former member')} of {entry.segment} enrolled in "
            f"{have.shortname}: the enrol entry does not allow unenrol"
        )
        notices.append(Notice("info", message, have.shortname))
    return tuple(notices)


def _disagreements(
    want: DesiredCourse, owners: Mapping[str, DesiredEnrolment]
) -> tuple[Notice, ...]:
    """Warn when entries granting one role disagree on ``unenrol``: the true one wins."""
    notices = []
    for entry in want.enrolments:
        owner = owners.get(entry.role)
        if owner is None or entry.allow_unenrol:
            continue
        message = (
            f"course {want.shortname}: the enrol entry for {entry.segment} does not allow "
            f"unenrol, but the one for {owner.segment} does, so anyone enrolled as "
            f"{entry.role} whom no entry wants is unenrolled"
        )
        notices.append(Notice("warning", message, want.shortname))
    return tuple(notices)
