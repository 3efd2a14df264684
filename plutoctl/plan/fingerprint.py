"""Fingerprints of the existing objects a plan touches ("Saved plans" in docs/safety.md).

A saved plan records, for every object its changes touch, a SHA-256 digest of that
object's existing state. ``apply PLAN`` re-reads the objects, recomputes the digests
from the same keys and refuses the plan if any differ. Digests are stable and
independent of the order the site returned things in; a missing object has the fixed
``ABSENT`` digest.

Keys:

- ``segment:ID``: the segment's id, name, description and visibility (and its
  context, when it is a course category's)
- ``segment-members:ID``: its members
- ``group:COURSE/GID``: the group's id, name and description
- ``group-members:COURSE/GID``: its members
- ``enrolments:COURSE``: every enrolled username with its roles
- ``course:COURSE``: the course id and the (idnumber, name) of all its groups

Which keys a change depends on is its kind's ``fingerprints`` (``plutoctl.plan.changes``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from operator import itemgetter

import msgspec

from plutoctl.errors import PlanError
from plutoctl.model import ExistingCourse, ExistingGroup, ExistingSite
from plutoctl.plan.changes.kinds import Change
from plutoctl.plan.changes.subjects import course_of, subject

ABSENT = hashlib.sha256(b"plutoctl:absent").hexdigest()
"""The digest of an object that does not exist."""

Fingerprints = tuple[tuple[str, str], ...]


def fingerprint_keys(changes: Iterable[Change]) -> tuple[str, ...]:
    """Return the sorted keys of every existing object the changes depend on."""
    keys: set[str] = set()
    for change in changes:
        keys.update(_keys_of(change))
    return tuple(sorted(keys))


def _keys_of(change: Change) -> tuple[str, ...]:
    return tuple(f"{key}:{_object_of(change, key)}" for key in change.kind.fingerprints)


def _object_of(change: Change, key: str) -> str:
    """Return what a key names for a change: its course, or its segment ID or group."""
    if key in ("course", "enrolments"):
        return course_of(change) or ""
    return subject(change)


def fingerprints(existing: ExistingSite, keys: Iterable[str]) -> Fingerprints:
    """Return ``(key, sha256 hex)`` for each key, sorted by key."""
    return tuple((key, digest(_state_of(existing, key))) for key in sorted(set(keys)))


def digest(state: object) -> str:
    """Return the SHA-256 hex digest of a JSON-able state, or ``ABSENT`` for None."""
    if state is None:
        return ABSENT
    # The bytes of json.dumps(state, sort_keys=True, separators=(",", ":"),
    # ensure_ascii=False) encoded as UTF-8 (a test holds them equal, so digests stay
    # as saved plans have them), made 4x faster: 200 courses' enrolments are 400,000
    # pairs.
    return hashlib.sha256(msgspec.json.encode(state, order="sorted")).hexdigest()


def _state_of(existing: ExistingSite, key: str) -> object:
    kind, _, name = key.partition(":")
    match kind:
        case "segment" | "segment-members":
            return _segment_state(existing, kind, name)
        case "course" | "enrolments":
            course = existing.courses.get(name)
            return None if course is None else _course_state(course, kind)
        case "group" | "group-members":
            group = _find_group(existing, name)
            return None if group is None else _group_state(group, kind)
    raise PlanError(f"unknown fingerprint key {key!r} in the saved plan")


def _segment_state(existing: ExistingSite, kind: str, idnumber: str) -> object:
    segment = existing.segments.get(idnumber)
    if segment is None:
        return None
    if kind == "segment":
        fields = segment.fields
        state: dict[str, object] = {
            "id": segment.id,
            "name": fields.name,
            "description": fields.description,
            "visible": fields.visible,
        }
        if segment.is_in_category:  # only then: digests of system segments stay as they were
            state["context"] = "category"
        return state
    if segment.members is None:
        return {"unread": True}
    return sorted(segment.members)


def _course_state(course: ExistingCourse, kind: str) -> object:
    if kind == "enrolments":
        # Usernames are unique keys, so sorting by them orders the pairs as sorting the
        # pairs would, without comparing lists; role sets are shared, so each is
        # sorted once. A plan touching 200 courses digests 400,000 enrolments.
        role_lists: dict[frozenset[str], list[str]] = {}
        pairs: list[list[object]] = []
        for user, roles in sorted(course.enrolments.items(), key=itemgetter(0)):
            listed = role_lists.get(roles)
            if listed is None:
                listed = role_lists[roles] = sorted(roles)
            pairs.append([user, listed])
        return pairs
    return {"id": course.id, "groups": sorted([g.idnumber, g.name] for g in course.all_groups)}


def _group_state(group: ExistingGroup, kind: str) -> object:
    if kind == "group":
        return {"id": group.id, "name": group.name, "description": group.description}
    return sorted(group.members)


def _find_group(existing: ExistingSite, name: str) -> ExistingGroup | None:
    """Return the group ``COURSE/GID`` names; either part may itself contain ``/``."""
    for index, char in enumerate(name):
        if char != "/":
            continue
        course = existing.courses.get(name[:index])
        group = course.groups.get(name[index + 1 :]) if course is not None else None
        if group is not None:
            return group
    return None
