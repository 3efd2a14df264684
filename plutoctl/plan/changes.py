"""Typed changes, the table of their kinds, and the plan that holds them.

A change names its object by identity (segment ID, course short name, group
idnumber) and carries what apply needs and what a reader of the plan wants to see.
Changes are frozen; code that treats kinds alike reads ``KINDS`` (through
``change.kind``), and code that needs a kind's own fields switches with ``match``.
The order of the steps and the JSON form of each change are in docs/plan-format.md.

A new kind of change needs: its class, ``Step`` and row of ``KINDS`` here; its
function in the registry (``plutoctl.lms.functions``); one writer method
(``plutoctl.lms.writer``); the code that plans it (``plutoctl.plan.diff``); what it
means for the re-read site (``plutoctl.plan.applied``: type checking fails without
it); and its action in docs/plan-format.md (and, for a count of its own in the
summary, a ``SiteSummary`` field and label). What treats kinds alike follows from
the row; a headline or a safety rule of its own is optional.

Over 400 lines because the change classes and the one table of their kinds must sit
together (the table is the class list), and every part of plutoctl imports the plan
values at the end from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Literal, Protocol, cast

from plutoctl.lms.functions import (
    ADD_COHORT_MEMBERS,
    ADD_GROUP_MEMBERS,
    CREATE_COHORTS,
    CREATE_GROUPS,
    DELETE_COHORT_MEMBERS,
    DELETE_COHORTS,
    DELETE_GROUP_MEMBERS,
    DELETE_GROUPS,
    ENROL_USERS,
    UNENROL_USERS,
    UPDATE_COHORTS,
    UPDATE_GROUPS,
)
from plutoctl.model import SegmentFields

FieldChanges = tuple[tuple[str, object, object], ...]
"""``((field, old, new), …)`` sorted by field name."""


class Step(IntEnum):
    """The order in which a site's changes run, so that each can succeed."""

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


class Target(StrEnum):
    """The object a change names: a segment, a course's group, or a course's enrolments."""

    SEGMENT = "segment"
    GROUP = "group"
    COURSE = "course"


class _Change:
    """What every change class has: its kind, from the one table (``KINDS``)."""

    __slots__ = ()

    @property
    def kind(self) -> Kind:
        return KIND_OF[type(self)]

    @property
    def step(self) -> Step:
        return KIND_OF[type(self)].step


@dataclass(frozen=True)
class CreateSegment(_Change):
    idnumber: str
    fields: SegmentFields


@dataclass(frozen=True)
class UpdateSegment(_Change):
    idnumber: str
    id: int
    fields: SegmentFields
    changed: FieldChanges


@dataclass(frozen=True)
class DeleteSegment(_Change):
    idnumber: str
    id: int
    member_count: int


@dataclass(frozen=True)
class AddSegmentMembers(_Change):
    idnumber: str
    usernames: tuple[str, ...]


@dataclass(frozen=True)
class RemoveSegmentMembers(_Change):
    idnumber: str
    usernames: tuple[str, ...]
    existing_count: int


@dataclass(frozen=True)
class CreateGroup(_Change):
    course: str
    idnumber: str
    name: str
    description: str


@dataclass(frozen=True)
class UpdateGroup(_Change):
    course: str
    idnumber: str
    id: int
    name: str
    description: str
    changed: FieldChanges


@dataclass(frozen=True)
class DeleteGroup(_Change):
    course: str
    idnumber: str
    id: int
    member_count: int


@dataclass(frozen=True)
class AddGroupMembers(_Change):
    course: str
    idnumber: str
    usernames: tuple[str, ...]


@dataclass(frozen=True)
class RemoveGroupMembers(_Change):
    course: str
    idnumber: str
    usernames: tuple[str, ...]
    existing_count: int


@dataclass(frozen=True)
class Enrol(_Change):
    course: str
    role: str
    usernames: tuple[str, ...]
    segment: str


@dataclass(frozen=True)
class Unenrol(_Change):
    course: str
    usernames: tuple[str, ...]
    segment: str


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


Sign = Literal["+", "~", "-"]


@dataclass(frozen=True)
class Kind:
    """What is true of every change of one class: the one place a kind is described.

    ``target`` is the object it names (``subject`` follows from it); ``sign`` is ``+``
    for what it adds, ``~`` for an update in place, ``-`` for a removal;
    ``lists_users``: it carries ``usernames``, each an item of its own (otherwise the
    object is its one item); apply runs ``phase`` after ``phase``, the steps of one
    phase together; ``summary`` is the ``SiteSummary`` count it adds to; ``function``
    is the web-service function that writes it (``plutoctl.lms.functions``);
    ``fingerprints`` name the existing state a saved plan must find unchanged before
    apply runs the change (``plutoctl.plan.fingerprint``).
    """

    change: type[Change]
    step: Step
    target: Target
    sign: Sign
    lists_users: bool
    phase: int
    summary: str
    function: str
    fingerprints: tuple[str, ...]

    @property
    def action(self) -> str:
        """Return the kind's name in the plan JSON: its step's, ``add_segment_members``."""
        return self.step.name.lower()

    @property
    def label(self) -> str:
        """Return how apply's report and progress name the kind: ``add segment members``."""
        return self.action.replace("_", " ")

    @property
    def is_removal(self) -> bool:
        """Return whether the kind deletes an object or takes people out of one."""
        return self.sign == "-"

    @property
    def removes_users(self) -> bool:
        """Return whether the kind takes users out of a segment, a group or a course."""
        return self.is_removal and self.lists_users


# fmt: off
KINDS: tuple[Kind, ...] = (
    Kind(CreateSegment, Step.CREATE_SEGMENT, Target.SEGMENT, sign="+", lists_users=False,
         phase=0, summary="segments_create", function=CREATE_COHORTS, fingerprints=("segment",)),
    Kind(UpdateSegment, Step.UPDATE_SEGMENT, Target.SEGMENT, sign="~", lists_users=False,
         phase=0, summary="segments_update", function=UPDATE_COHORTS, fingerprints=("segment",)),
    Kind(DeleteSegment, Step.DELETE_SEGMENT, Target.SEGMENT, sign="-", lists_users=False,
         phase=6, summary="segments_delete", function=DELETE_COHORTS,
         fingerprints=("segment", "segment-members")),
    Kind(AddSegmentMembers, Step.ADD_SEGMENT_MEMBERS, Target.SEGMENT, sign="+", lists_users=True,
         phase=1, summary="members_add", function=ADD_COHORT_MEMBERS,
         fingerprints=("segment-members",)),
    Kind(RemoveSegmentMembers, Step.REMOVE_SEGMENT_MEMBERS, Target.SEGMENT, sign="-",
         lists_users=True, phase=3, summary="members_remove",
         function=DELETE_COHORT_MEMBERS, fingerprints=("segment-members",)),
    Kind(CreateGroup, Step.CREATE_GROUP, Target.GROUP, sign="+", lists_users=False,
         phase=0, summary="groups_create", function=CREATE_GROUPS,
         fingerprints=("course", "group")),
    Kind(UpdateGroup, Step.UPDATE_GROUP, Target.GROUP, sign="~", lists_users=False,
         phase=0, summary="groups_update", function=UPDATE_GROUPS,
         fingerprints=("course", "group")),
    Kind(DeleteGroup, Step.DELETE_GROUP, Target.GROUP, sign="-", lists_users=False,
         phase=5, summary="groups_delete", function=DELETE_GROUPS,
         fingerprints=("group", "group-members")),
    Kind(AddGroupMembers, Step.ADD_GROUP_MEMBERS, Target.GROUP, sign="+", lists_users=True,
         phase=2, summary="group_members_add", function=ADD_GROUP_MEMBERS,
         fingerprints=("enrolments", "group-members")),
    Kind(RemoveGroupMembers, Step.REMOVE_GROUP_MEMBERS, Target.GROUP, sign="-", lists_users=True,
         phase=3, summary="group_members_remove", function=DELETE_GROUP_MEMBERS,
         fingerprints=("enrolments", "group-members")),
    Kind(Enrol, Step.ENROL, Target.COURSE, sign="+", lists_users=True,
         phase=1, summary="enrol", function=ENROL_USERS, fingerprints=("enrolments",)),
    Kind(Unenrol, Step.UNENROL, Target.COURSE, sign="-", lists_users=True,
         phase=4, summary="unenrol", function=UNENROL_USERS, fingerprints=("enrolments",)),
)
# fmt: on
"""Every kind of change, in the order the plan's summary counts them."""

KIND_OF: dict[type, Kind] = {kind.change: kind for kind in KINDS}
KIND_OF_STEP: dict[Step, Kind] = {kind.step: kind for kind in KINDS}

APPLY_PHASES: tuple[tuple[Step, ...], ...] = tuple(
    tuple(sorted(k.step for k in KINDS if k.phase == phase))
    for phase in sorted({k.phase for k in KINDS})
)
"""The steps of each apply phase, phases in order."""


class _Fields(Protocol):
    """The fields the accessors read: ``target`` and ``lists_users`` say which exist."""

    @property
    def idnumber(self) -> str: ...
    @property
    def course(self) -> str: ...
    @property
    def usernames(self) -> tuple[str, ...]: ...


def group_subject(course: str, idnumber: str) -> str:
    """Return ``COURSE/GROUP``, the one name of a group on the command line and in reports."""
    return f"{course}/{idnumber}"


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


WRITE_FUNCTIONS: dict[Step, str] = {kind.step: kind.function for kind in KINDS}
"""The web-service function that writes each step's changes."""


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
    ``estimated_seconds``: how long apply takes on a typical site (``plutoctl.lms.functions``).
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
