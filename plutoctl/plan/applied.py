"""What a change means for the site's state, read back (pure).

``differences`` says what about a change the site contradicts: apply's verification
re-reads what it touched and reports these. What each kind must find on the site is
the kind's own (``contradicted_by``, beside its class in the change table,
``plutoctl.plan.changes.kinds``); this module holds what is true of every kind.
``is_already_applied`` is the same check over a whole plan, stricter only where the
state was not read: a saved plan applied twice finds the site changed since the plan
was made, by the plan itself; then every change of the plan is already true of the
site, and apply says so instead of calling the plan stale. One change that is not
yet true (someone else's edit, or a half-finished apply), or whose course or segment
members were not read, and the plan is stale as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from plutoctl.model import ExistingSite
from plutoctl.plan.changes.kinds import Change
from plutoctl.plan.changes.subjects import course_of, items_of, subject


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
    return change.contradicted_by(existing, done)
