"""Typed changes and the plan that holds them (SPEC §4.1).

A change names its object by identity (segment ID, course short name, group
idnumber) and carries what apply needs and what a reader of the plan wants to see.
Changes are frozen; code switches on them with ``match``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from plutoctl.model import SegmentFields

FieldChanges = tuple[tuple[str, object, object], ...]
"""``((field, old, new), …)`` sorted by field name."""


class Step(IntEnum):
    """The order in which a site's changes run, so that each can succeed (SPEC §4.1)."""

    CREATE_SEGMENT = 1
    UPDATE_SEGMENT = 2
    CREATE_GROUP = 3
    UPDATE_GROUP = 4
    ADD_SEGMENT_MEMBERS = 5
    ENROL = 6
    ADD_GROUP_MEMBERS = 7
    REMOVE_GROUP_MEMBERS = 8
    UNENROL = 9
    REMOVE_SEGMENT_MEMBERS = 10
    DELETE_GROUP = 11
    DELETE_SEGMENT = 12


@dataclass(frozen=True)
class CreateSegment:
    idnumber: str
    fields: SegmentFields
    step: Step = field(default=Step.CREATE_SEGMENT, init=False)


@dataclass(frozen=True)
class UpdateSegment:
    idnumber: str
    id: int
    fields: SegmentFields
    changed: FieldChanges
    step: Step = field(default=Step.UPDATE_SEGMENT, init=False)


@dataclass(frozen=True)
class DeleteSegment:
    idnumber: str
    id: int
    member_count: int
    step: Step = field(default=Step.DELETE_SEGMENT, init=False)


@dataclass(frozen=True)
class AddSegmentMembers:
    idnumber: str
    usernames: tuple[str, ...]
    step: Step = field(default=Step.ADD_SEGMENT_MEMBERS, init=False)


@dataclass(frozen=True)
class RemoveSegmentMembers:
    idnumber: str
    usernames: tuple[str, ...]
    existing_count: int
    step: Step = field(default=Step.REMOVE_SEGMENT_MEMBERS, init=False)


@dataclass(frozen=True)
class CreateGroup:
    course: str
    idnumber: str
    name: str
    description: str
    step: Step = field(default=Step.CREATE_GROUP, init=False)


@dataclass(frozen=True)
class UpdateGroup:
    course: str
    idnumber: str
    id: int
    name: str
    description: str
    changed: FieldChanges
    step: Step = field(default=Step.UPDATE_GROUP, init=False)


@dataclass(frozen=True)
class DeleteGroup:
    course: str
    idnumber: str
    id: int
    member_count: int
    step: Step = field(default=Step.DELETE_GROUP, init=False)


@dataclass(frozen=True)
class AddGroupMembers:
    course: str
    idnumber: str
    usernames: tuple[str, ...]
    step: Step = field(default=Step.ADD_GROUP_MEMBERS, init=False)


@dataclass(frozen=True)
class RemoveGroupMembers:
    course: str
    idnumber: str
    usernames: tuple[str, ...]
    existing_count: int
    step: Step = field(default=Step.REMOVE_GROUP_MEMBERS, init=False)


@dataclass(frozen=True)
class Enrol:
    course: str
    role: str
    usernames: tuple[str, ...]
    segment: str
    step: Step = field(default=Step.ENROL, init=False)


@dataclass(frozen=True)
class Unenrol:
    course: str
    usernames: tuple[str, ...]
    segment: str
    step: Step = field(default=Step.UNENROL, init=False)


Change = (
    CreateSegment
    | UpdateSegment
    | DeleteSegment
    | AddSegmentMembers
    | RemoveSegmentMembers
    | CreateGroup
    | UpdateGroup
    | DeleteGroup
    | AddGroupMembers
    | RemoveGroupMembers
    | Enrol
    | Unenrol
)


def subject(change: Change) -> str:
    """Return the ID a user names in --only/--allow-*: segment ID or ``COURSE/GROUP``."""
    match change:
        case Enrol(course=course) | Unenrol(course=course):
            return course
        case (
            CreateGroup(course=course, idnumber=gid)
            | UpdateGroup(course=course, idnumber=gid)
            | DeleteGroup(course=course, idnumber=gid)
            | AddGroupMembers(course=course, idnumber=gid)
            | RemoveGroupMembers(course=course, idnumber=gid)
        ):
            return f"{course}/{gid}"
        case _:
            return change.idnumber


@dataclass(frozen=True)
class Refusal:
    """A change the safety policy holds back until the user acknowledges it."""

    change: Change
    reason: str
    acknowledge: str
    """The flag that would allow it, e.g. ``--allow-removals dept-sales``."""


@dataclass(frozen=True)
class Acknowledged:
    """A change the safety policy would refuse, let through by an acknowledgement.

    ``by`` names the acknowledgement: ``acknowledge.removals dept-sales: 40`` (from the
    config) or ``--allow-removals dept-sales`` (from the command line); ``reason`` is
    what the policy would have refused. Recorded in the plan so a reviewer sees it.
    """

    subject: str
    reason: str
    by: str


@dataclass(frozen=True)
class Notice:
    """Something the plan reader should know that is not a change."""

    level: str  # "info" | "warning" | "error"
    message: str
    where: str = ""


@dataclass(frozen=True)
class SitePlan:
    """The plan for one site.

    ``changes`` are what apply will do, in step order. ``refused`` are changes the
    safety policy refused (the plan is then unsafe, exit 3). ``held_back`` are
    removals skipped on purpose (additive membership, an incomplete read, no
    ``unenrol``), shown so nobody is surprised. ``errors`` make the site's plan
    unusable (unknown usernames, a failed read); apply never runs a site with errors.
    ``fingerprints`` map each touched object's key to a digest of its existing state.
    ``estimated_seconds``: how long apply takes on a typical site (``plutoctl.costs``).
    """

    site: str
    changes: tuple[Change, ...] = ()
    refused: tuple[Refusal, ...] = ()
    held_back: tuple[Notice, ...] = ()
    notices: tuple[Notice, ...] = ()
    errors: tuple[Notice, ...] = ()
    api_calls: int = 0
    fingerprints: tuple[tuple[str, str], ...] = ()
    acknowledged: tuple[Acknowledged, ...] = ()
    estimated_seconds: float = 0.0

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)


@dataclass(frozen=True)
class PlanBasis:
    """What a plan was made from, recorded so a saved plan can be checked before apply.

    ``inputs`` maps ``config`` and each CSV file the config reads (as the config names
    it) to the SHA-256 of its content; the acknowledgements and the ``--only`` /
    ``--except`` selection are the ones the plan was made with.
    """

    inputs: tuple[tuple[str, str], ...] = ()
    allow_removals: tuple[str, ...] = ()
    allow_delete: tuple[str, ...] = ()
    allow_move: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    """Plans for every site of a run; ``basis`` is None for a plan that records none."""

    sites: tuple[SitePlan, ...]
    config_path: str = ""
    created_at: str = ""
    basis: PlanBasis | None = None

    @property
    def has_changes(self) -> bool:
        return any(s.has_changes for s in self.sites)

    @property
    def is_refused(self) -> bool:
        return any(s.refused for s in self.sites)

    @property
    def has_errors(self) -> bool:
        return any(s.errors for s in self.sites)


def usernames_of(change: Change) -> tuple[str, ...]:
    """Return the usernames a membership or enrolment change lists, or ``()``."""
    match change:
        case (
            AddSegmentMembers(usernames=names)
            | RemoveSegmentMembers(usernames=names)
            | AddGroupMembers(usernames=names)
            | RemoveGroupMembers(usernames=names)
            | Enrol(usernames=names)
            | Unenrol(usernames=names)
        ):
            return names
    return ()


def item_count(change: Change) -> int:
    """Return how many items a change writes: its usernames, or 1 for the object itself."""
    return len(usernames_of(change)) or 1


WRITE_FUNCTIONS: dict[Step, str] = {
    Step.CREATE_SEGMENT: "core_cohort_create_cohorts",
    Step.UPDATE_SEGMENT: "core_cohort_update_cohorts",
    Step.DELETE_SEGMENT: "core_cohort_delete_cohorts",
    Step.ADD_SEGMENT_MEMBERS: "core_cohort_add_cohort_members",
    Step.REMOVE_SEGMENT_MEMBERS: "core_cohort_delete_cohort_members",
    Step.CREATE_GROUP: "core_group_create_groups",
    Step.UPDATE_GROUP: "core_group_update_groups",
    Step.DELETE_GROUP: "core_group_delete_groups",
    Step.ADD_GROUP_MEMBERS: "core_group_add_group_members",
    Step.REMOVE_GROUP_MEMBERS: "core_group_delete_group_members",
    Step.ENROL: "enrol_manual_enrol_users",
    Step.UNENROL: "enrol_manual_unenrol_users",
}
"""The web-service function that writes each step's changes."""
