"""Who a segment-bound group gains and loses (pure).

A group bound to a segment holds the segment's members who are enrolled in the
course once the plan is applied. Its other members leave it, but for one kind: a
member of the group and of its segment whom the course's enrolments, as read, lack
while the plan does not unenrol them. A group holds only enrolled users (the site
refuses others, and an unenrolment takes the user out of the course's groups), so
the read missed them: a listing that shifted between its pages, a user enrolled
between two reads. They are left in the group, and the plan says so.
"""

from __future__ import annotations

from plutoctl.model import ExistingCourse
from plutoctl.plan.changes.base import group_subject
from plutoctl.plan.changes.kinds import AddGroupMembers, Change, RemoveGroupMembers
from plutoctl.plan.changes.plans import Notice

SHOWN = 5
"""The most usernames a notice names."""


def group_member_changes(
    have: ExistingCourse,
    group: str,
    members: frozenset[str],
    existing: frozenset[str],
    enrolled: frozenset[str],
) -> tuple[tuple[Change, ...], frozenset[str]]:
    """Return the changes that make ``group``'s members ``existing`` the segment's
    ``members`` enrolled after the plan (``enrolled``), and the members left unseen."""
    target = members & enrolled
    unseen = (existing & members) - enrolled - have.enrolments.keys()
    changes: list[Change] = []
    if target - existing:
        changes.append(AddGroupMembers(have.shortname, group, tuple(sorted(target - existing))))
    removals = existing - target - unseen
    if removals:
        changes.append(
            RemoveGroupMembers(have.shortname, group, tuple(sorted(removals)), len(existing))
        )
    return tuple(changes), unseen


def unseen_notice(
    have: ExistingCourse, group: str, segment: str | None, unseen: frozenset[str]
) -> Notice:
    """Say which members of the group were left in it, unseen among the enrolled."""
    names = sorted(unseen)
    more = len(names) - SHOWN
    # Quoted and listed as the notice's usernames: a PR comment shows them as "(a user)".
    shown = ", ".join(map(repr, names[:SHOWN])) + (f" and {more:,} more" if more > 0 else "")
    verb = "is" if len(names) == 1 else "are"
    message = (
        f"group {group_subject(have.shortname, group)}: {shown} {verb} in the group and in "
        f"segment {segment}, but not among the users enrolled in {have.shortname} as read; "
        "left in the group (a group holds only enrolled users, so the read missed them): "
        "plan again"
    )
    where = segment or group_subject(have.shortname, group)
    return Notice("warning", message, where, tuple(names[:SHOWN]))
