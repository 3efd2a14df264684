"""The safety policy: what a plan may do without acknowledgement (docs/safety.md).

``check_safety`` splits a diff's changes into the ones allowed, the ones refused
(each with its reason and the exact flag that allows it) and the ones held back
(removals on a site whose read was incomplete, and removals that depend on a refused
one). Rules, in order:

1. An incomplete read: no removals, unenrolments or deletes on the site at all.
2. Removing more members than ``policy.max_removals`` allows from one segment or
   one group, or unenrolling more users than it allows from one course (counted
   against the course's enrolled users): refused unless ``--allow-removals ID``
   names it (a course by its short name).
3. Deleting a segment or group that has members: refused unless ``--allow-delete ID``.
4. Creating or deleting a ``protected`` segment: refused unless ``--allow-delete ID``.
5. Updating a segment that lives in a course category, which moves it to the system
   context: refused unless ``--allow-move ID``.

An acknowledgement names exactly one object (``acknowledges``): a bare ID is a
segment, a group is always ``COURSE/GROUP``; a bare ID that is both a segment and a
group's idnumber in the plan is refused as ambiguous. What a refusal drags along
(adds to a segment whose create is refused, removals that follow from a refused
segment removal) is decided in ``plutoctl.plan.knock_on``; the config's
``acknowledge:`` section is read in ``plutoctl.plan.acknowledge``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from plutoctl.config.schema import PolicyConfig
from plutoctl.model import DesiredSite, ExistingSite
from plutoctl.plan import knock_on
from plutoctl.plan.ambiguous import (
    names_of_two_objects,
    no_flag,
    refuse_bare_group_ids,
    refuse_names_of_two_objects,
)
from plutoctl.plan.changes.base import Target
from plutoctl.plan.changes.kinds import (
    Change,
    CreateSegment,
    DeleteGroup,
    DeleteSegment,
    RemoveGroupMembers,
    RemoveSegmentMembers,
    Unenrol,
    UpdateSegment,
)
from plutoctl.plan.changes.plans import Acknowledged, Notice, Refusal
from plutoctl.plan.changes.subjects import allow_flag, subject, usernames_of
from plutoctl.plan.diff import MOVE_TO_SYSTEM
from plutoctl.plan.summary import plural


@dataclass(frozen=True)
class Acknowledgements:
    """What the policy lets through.

    ``removals`` / ``deletes`` / ``moves`` come from ``--allow-removals`` /
    ``--allow-delete`` / ``--allow-move``;
    ``bounds`` and ``config_deletes`` from the config's ``acknowledge:`` section
    (``plutoctl.plan.acknowledge``), where a removal acknowledgement is a count.
    """

    removals: frozenset[str] = frozenset()
    deletes: frozenset[str] = frozenset()
    moves: frozenset[str] = frozenset()
    bounds: tuple[tuple[str, int], ...] = ()
    config_deletes: frozenset[str] = frozenset()

    @property
    def bound_names(self) -> frozenset[str]:
        """Return the IDs the config's ``acknowledge.removals`` names."""
        return frozenset(name for name, _ in self.bounds)

    def removal_bound(self, change: Change) -> tuple[str, int] | None:
        """Return the config acknowledgement ``(ID, count)`` naming this change, if any."""
        for name, count in self.bounds:
            if acknowledges(frozenset({name}), change):
                return name, count
        return None

    def deletes_by(self, change: Change) -> str | None:
        """Return what acknowledges deleting (or creating) this object, or None."""
        if acknowledges(self.deletes, change):
            return allow_flag("--allow-delete", subject(change))
        if acknowledges(self.config_deletes, change):
            return f"acknowledge.deletes {subject(change)}"
        return None


NO_ACKNOWLEDGEMENTS = Acknowledgements()


@dataclass(frozen=True)
class SafetyResult:
    """Changes split into allowed, refused and held back."""

    changes: tuple[Change, ...] = ()
    refused: tuple[Refusal, ...] = ()
    held_back: tuple[Notice, ...] = ()
    acknowledged: tuple[Acknowledged, ...] = ()


def check_safety(
    changes: Iterable[Change],
    existing: ExistingSite,
    desired: DesiredSite,
    policy: PolicyConfig,
    acks: Acknowledgements,
) -> SafetyResult:
    """Return the changes the policy allows, those it refuses, and those held back."""
    changes = tuple(changes)
    refuse_ambiguous_acknowledgements(acks, changes)
    allowed, held_back = _hold_back_if_incomplete(changes, existing)
    # A course's limit holds for all its unenrolments together, whatever their roles.
    unenrolling: dict[str, set[str]] = {}
    for change in allowed:
        if isinstance(change, Unenrol):
            unenrolling.setdefault(change.course, set()).update(change.usernames)
    counts = {course: len(users) for course, users in unenrolling.items()}
    kept: list[Change] = []
    refused: list[Refusal] = []
    two = names_of_two_objects(changes)
    for change in allowed:
        refusal = _refusal(change, existing, desired, policy, acks, counts)
        if refusal is None:
            kept.append(change)
        else:
            refused.append(no_flag(refusal, two))
    refused += knock_on.refuse_adds_to_refused_creates(kept, refused)
    kept = [c for c in kept if not any(r.change is c for r in refused)]
    kept, dragged, waiting = knock_on.hold_back_dragged_removals(kept, refused, desired)
    kept, in_groups = knock_on.hold_back_groups_of_refused_unenrolments(kept, refused, waiting)
    acknowledged = tuple(
        Acknowledged(subject(change), refusal.reason, _acknowledged_by(change, acks))
        for change in kept
        if (refusal := _refusal(change, existing, desired, policy, NO_ACKNOWLEDGEMENTS, counts))
        is not None
    )
    held = held_back + dragged + in_groups
    return SafetyResult(tuple(kept), tuple(refused), held, acknowledged)


def _acknowledged_by(change: Change, acks: Acknowledgements) -> str:
    """Return the acknowledgement that let a change through (flags first)."""
    if change.kind.removes_users:
        if acknowledges(acks.removals, change):
            return allow_flag("--allow-removals", subject(change))
        bound = acks.removal_bound(change)
        if bound is not None:
            return f"acknowledge.removals {bound[0]}: {bound[1]}"
    if isinstance(change, UpdateSegment):
        return allow_flag("--allow-move", subject(change))
    return acks.deletes_by(change) or "an acknowledgement"


def _hold_back_if_incomplete(
    changes: tuple[Change, ...], existing: ExistingSite
) -> tuple[tuple[Change, ...], tuple[Notice, ...]]:
    """Hold back every removal unless the read was complete: the one rule for all removals.

    Every removal, unenrolment and delete of a plan passes here, whether planned now
    or recomputed for a saved plan. Whatever was not read (a failed call, a page cut
    short, a record read in part, a user whose profile the listing missed and the
    lookup could not supply) is unknown, not empty, and the reader records it in
    ``existing.incomplete``: so nothing is ever removed on the strength of it.
    """
    if existing.is_complete:
        return changes, ()
    reasons = "; ".join(existing.incomplete)
    notices = tuple(
        Notice(
            "warning",
            f"held back {_describe(c)}: the site read was incomplete ({reasons})",
            subject(c),
        )
        for c in changes
        if c.kind.is_removal
    )
    return tuple(c for c in changes if not c.kind.is_removal), notices


def _describe(change: Change) -> str:
    """Return a short phrase for a removal or delete, for notices."""
    kind, name, count = change.kind, subject(change), len(usernames_of(change))
    if not kind.is_removal:
        return f"change to {name}"
    if not kind.lists_users:
        return f"deletion of {kind.target} {name}"
    if kind.target is Target.COURSE:
        return f"unenrolment of {plural(count, 'user')} from {name}"
    return f"removal of {plural(count, 'member')} from {kind.target} {name}"


def acknowledges(names: frozenset[str], change: Change) -> bool:
    """Return whether acknowledged IDs name this change's object: the one matching rule.

    An ID names exactly one object: a bare ID a segment (or, for enrolments, a course),
    ``COURSE/GROUP`` a group. A group's bare idnumber never admits the group: a segment
    may share it, and an acknowledgement must not admit more than the person named.
    Used for the command-line flags and the config's ``acknowledge:`` section alike.
    """
    return subject(change) in names


def refuse_ambiguous_acknowledgements(acks: Acknowledgements, changes: Iterable[Change]) -> None:
    """Raise UsageError for a bare ID that would admit more than one object here.

    A bare ID that is both a segment (or course) and a group's idnumber is refused unless
    the group is acknowledged by its ``COURSE/GROUP`` name too: then both are meant. A bare
    ID that is both a segment and a course whose enrolments the plan removes is refused:
    no name tells the two apart.
    """
    changes = tuple(changes)
    flags = (
        ("--allow-removals", acks.removals),
        ("--allow-delete", acks.deletes),
        ("--allow-move", acks.moves),
    )
    refuse_names_of_two_objects(
        changes,
        (
            ("--allow-removals", acks.removals, "removals"),
            ("acknowledge.removals", acks.bound_names, "removals"),
            ("--allow-delete", acks.deletes, "delete"),
            ("acknowledge.deletes", acks.config_deletes, "delete"),
            ("--allow-move", acks.moves, "move"),
        ),
    )
    refuse_bare_group_ids(changes, flags)


def _refusal(
    change: Change,
    existing: ExistingSite,
    desired: DesiredSite,
    policy: PolicyConfig,
    acks: Acknowledgements,
    unenrolling: Mapping[str, int],
) -> Refusal | None:
    match change:
        case RemoveSegmentMembers() | RemoveGroupMembers():
            return _removal_refusal(change, policy, acks)
        case Unenrol():
            return _unenrol_refusal(change, existing, policy, acks, unenrolling[change.course])
        case DeleteSegment() | DeleteGroup():
            return _delete_refusal(change, desired, acks)
        case UpdateSegment(idnumber=sid, changed=changed) if MOVE_TO_SYSTEM in changed:
            if acknowledges(acks.moves, change):
                return None
            reason = (
                f"segment {sid} lives in a course category: updating it moves it to the "
                "system context (the site cannot be told to keep it where it is)"
            )
            found = existing.segments.get(sid)
            if found is not None and found.is_in_category is None:
                reason = (
                    f"segment {sid} may live in a course category, and this token cannot "
                    "tell (its service lacks core_cohort_search_cohorts): if it does, "
                    "updating it moves it to the system context; add that function"
                )
            return Refusal(change, reason, allow_flag("--allow-move", sid))
        case CreateSegment(idnumber=sid):
            segment = desired.segments.get(sid)
            if segment is None or not segment.is_protected or acks.deletes_by(change):
                return None
            reason = f"segment {sid} is protected: creating it changes its existence"
            return Refusal(change, reason, allow_flag("--allow-delete", sid))
        case _:
            return None


def _removal_refusal(
    change: RemoveSegmentMembers | RemoveGroupMembers, policy: PolicyConfig, acks: Acknowledgements
) -> Refusal | None:
    limit = policy.removal_limit(change.existing_count)
    count = len(change.usernames)
    if count <= limit or acknowledges(acks.removals, change):
        return None
    name = subject(change)
    reason = (
        f"would remove {count} of {change.existing_count} members of {change.kind.target} {name}; "
        f"policy max_removals {policy.max_removals} allows {limit}"
    )
    return _refusal_unless_bounded(change, count, reason, acks)


def _unenrol_refusal(
    change: Unenrol,
    existing: ExistingSite,
    policy: PolicyConfig,
    acks: Acknowledgements,
    count: int,
) -> Refusal | None:
    """Hold a course's unenrolments (``count`` users, every role's together) to
    ``max_removals`` of its enrolled users, read now."""
    course = existing.courses.get(change.course)
    enrolled = len(course.enrolments) if course is not None else 0
    if count <= policy.removal_limit(enrolled) or acknowledges(acks.removals, change):
        return None
    reason = (
        f"would unenrol {count} of {enrolled} users enrolled in course {change.course}; "
        f"policy max_removals {policy.max_removals} allows {policy.removal_limit(enrolled)}"
    )
    return _refusal_unless_bounded(change, count, reason, acks)


def _refusal_unless_bounded(
    change: Change, count: int, reason: str, acks: Acknowledgements
) -> Refusal | None:
    """Refuse removals past the policy, unless the config's bounded count admits them."""
    bound = acks.removal_bound(change)
    if bound is None:
        return Refusal(change, reason, allow_flag("--allow-removals", subject(change)))
    if count <= bound[1]:
        return None
    reason += f", and acknowledge.removals {bound[0]}: {bound[1]} allows {bound[1]}"
    return Refusal(change, reason, f"acknowledge.removals {bound[0]}: {count}")


def _delete_refusal(
    change: DeleteSegment | DeleteGroup, desired: DesiredSite, acks: Acknowledgements
) -> Refusal | None:
    if acks.deletes_by(change):
        return None
    name = subject(change)
    if isinstance(change, DeleteSegment):
        segment = desired.segments.get(change.idnumber)
        if (segment is not None and segment.is_protected) or change.idnumber in desired.protected:
            reason = f"segment {name} is protected: deleting it changes its existence"
            if segment is None:  # declared for other sites only: moved there, say
                reason += " (the config declares it for other sites)"
            return Refusal(change, reason, allow_flag("--allow-delete", name))
    if change.member_count == 0:
        return None
    members = plural(change.member_count, "member")
    reason = f"would delete {change.kind.target} {name}, which has {members}"
    return Refusal(change, reason, allow_flag("--allow-delete", name))
