"""What a change names: its subject, course and group, its usernames and its items.

Read from any change through its kind's row (``target``, ``lists_users``), so a new
kind needs nothing here.
"""

from __future__ import annotations

import shlex
from typing import Protocol, cast

from plutoctl.plan.changes.base import Target, group_subject
from plutoctl.plan.changes.kinds import Change


class _Fields(Protocol):
    """The fields the accessors read: ``target`` and ``lists_users`` say which exist."""

    @property
    def idnumber(self) -> str: ...
    @property
    def course(self) -> str: ...
    @property
    def usernames(self) -> tuple[str, ...]: ...


def subject(change: Change) -> str:
    """Return the ID a user names in --only/--allow-*: segment ID, ``COURSE/GROUP`` or course."""
    fields = cast(_Fields, change)
    match change.kind.target:
        case Target.COURSE:
            return fields.course
        case Target.GROUP:
            return group_subject(fields.course, fields.idnumber)
    return fields.idnumber


def course_of(change: Change) -> str | None:
    """Return the course a group or enrolment change is in, or None for a segment's."""
    return None if change.kind.target is Target.SEGMENT else cast(_Fields, change).course


def group_idnumber(change: Change) -> str | None:
    """Return the idnumber of the group a change names, or None when it names no group."""
    return cast(_Fields, change).idnumber if change.kind.target is Target.GROUP else None


def usernames_of(change: Change) -> tuple[str, ...]:
    """Return the usernames a membership or enrolment change lists, or ``()``."""
    return cast(_Fields, change).usernames if change.kind.lists_users else ()


def items_of(change: Change) -> tuple[str, ...]:
    """Return what a change's items are called: its usernames, or its subject."""
    return usernames_of(change) or (subject(change),)


def item_count(change: Change) -> int:
    """Return how many items a change writes: its usernames, or 1 for the object itself."""
    return len(usernames_of(change)) or 1


def allow_flag(flag: str, name: str) -> str:
    """Return ``--allow-… NAME`` as a shell takes it: a name with spaces or shell
    characters (a course shortname may hold any) is quoted, so the hint can be pasted."""
    return f"{flag} {shlex.quote(name)}"
