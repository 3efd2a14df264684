"""The change table: every kind of change, its class, its step and its row of ``KINDS``.

A change names its object by identity (segment ID, course short name, group
idnumber) and carries what apply needs and what a reader of the plan wants to see.
Changes are frozen. Each class says what the re-read site must show once it is
applied (``contradicted_by``; apply's verification and ``plutoctl.plan.applied`` ask
it); code that treats kinds alike reads its row (``change.kind``), and code that
needs a kind's own fields switches with ``match``. The order of the steps, the JSON
form of each change and the summary's counts are in docs/plan-format.md, whose action
table, summary table and example are generated from ``KINDS``.

A new kind is added here, in this one module: its ``Step``, its class (with its
``contradicted_by``: the class cannot be instantiated without it, and this module
refuses to load) and its row of ``KINDS``. See ``plutoctl.plan.changes`` for what
else it needs.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

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
from plutoctl.model import ExistingGroup, ExistingSite, SegmentFields
from plutoctl.plan.changes.base import (
    FieldChanges,
    Kind,
    Target,
    group_subject,
    membership_differences,
)


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


class _Change(ABC):
    """What every change class has: its kind, from the one table (``KINDS``), and the
    check of what the re-read site must show once the change is applied."""

    __slots__ = ()

    @property
    def kind(self) -> Kind:
        return KIND_OF[type(self)]

    @property
    def step(self) -> Step:
        return KIND_OF[type(self)].step

    @abstractmethod
    def contradicted_by(self, existing: ExistingSite, done: Sequence[str]) -> list[str]:
        """Return what about this change (its ``done`` items, not empty) ``existing``
        contradicts: one line for each thing the site shows otherwise."""


# -- segments ----------------------------------------------------------------------


@dataclass(frozen=True)
class CreateSegment(_Change):
    idnumber: str
    fields: SegmentFields

    def contradicted_by(self, existing: ExistingSite, done: Sequence[str]) -> list[str]:
        return _segment_differences(self.idnumber, self.fields, existing)


@dataclass(frozen=True)
class UpdateSegment(_Change):
    idnumber: str
    id: int
    fields: SegmentFields
    changed: FieldChanges

    def contradicted_by(self, existing: ExistingSite, done: Sequence[str]) -> list[str]:
        return _segment_differences(self.idnumber, self.fields, existing)


@dataclass(frozen=True)
class DeleteSegment(_Change):
    idnumber: str
    id: int
    member_count: int

    def contradicted_by(self, existing: ExistingSite, done: Sequence[str]) -> list[str]:
        sid = self.idnumber
        return [f"segment {sid} still exists"] if sid in existing.segments else []


@dataclass(frozen=True)
class AddSegmentMembers(_Change):
    idnumber: str
    usernames: tuple[str, ...]

    def contradicted_by(self, existing: ExistingSite, done: Sequence[str]) -> list[str]:
        return _segment_members_differences(self, self.idnumber, existing, done)


@dataclass(frozen=True)
class RemoveSegmentMembers(_Change):
    idnumber: str
    usernames: tuple[str, ...]
    existing_count: int

    def contradicted_by(self, existing: ExistingSite, done: Sequence[str]) -> list[str]:
        return _segment_members_differences(self, self.idnumber, existing, done)


def _segment_differences(sid: str, fields: SegmentFields, existing: ExistingSite) -> list[str]:
    seg = existing.segments.get(sid)
    if seg is None:
        return [f"segment {sid} is missing"]
    if seg.fields != fields:
        return [f"segment {sid} has {_fields(seg.fields)}, wanted {_fields(fields)}"]
    return []


def _fields(fields: SegmentFields) -> str:
    return f"name={fields.name!r} description={fields.description!r} visible={fields.visible}"


def _segment_members_differences(
    change: _Change, sid: str, existing: ExistingSite, done: Sequence[str]
) -> list[str]:
    seg = existing.segments.get(sid)
    members = seg.members if seg is not None and seg.members is not None else frozenset()
    return membership_differences(f"segment {sid}", change.kind.sign, done, members)


# -- groups ------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateGroup(_Change):
    course: str
    idnumber: str
    name: str
    description: str

    def contradicted_by(self, existing: ExistingSite, done: Sequence[str]) -> list[str]:
        return _group_differences(self.course, self.idnumber, self.name, self.description, existing)


@dataclass(frozen=True)
class UpdateGroup(_Change):
    course: str
    idnumber: str
    id: int
    name: str
    description: str
    changed: FieldChanges

    def contradicted_by(self, existing: ExistingSite, done: Sequence[str]) -> list[str]:
        return _group_differences(self.course, self.idnumber, self.name, self.description, existing)


@dataclass(frozen=True)
class DeleteGroup(_Change):
    course: str
    idnumber: str
    id: int
    member_count: int

    def contradicted_by(self, existing: ExistingSite, done: Sequence[str]) -> list[str]:
        if _group(existing, self.course, self.idnumber) is None:
            return []
        return [f"group {group_subject(self.course, self.idnumber)} still exists"]


@dataclass(frozen=True)
class AddGroupMembers(_Change):
    course: str
    idnumber: str
    usernames: tuple[str, ...]

    def contradicted_by(self, existing: ExistingSite, done: Sequence[str]) -> list[str]:
        return _group_members_differences(self, self.course, self.idnumber, existing, done)


@dataclass(frozen=True)
class RemoveGroupMembers(_Change):
    course: str
    idnumber: str
    usernames: tuple[str, ...]
    existing_count: int

    def contradicted_by(self, existing: ExistingSite, done: Sequence[str]) -> list[str]:
        return _group_members_differences(self, self.course, self.idnumber, existing, done)


def _group(existing: ExistingSite, course: str, gid: str) -> ExistingGroup | None:
    return existing.courses[course].groups.get(gid) if course in existing.courses else None


def _group_differences(
    course: str, gid: str, name: str, description: str, existing: ExistingSite
) -> list[str]:
    group = _group(existing, course, gid)
    if group is None:
        return [f"group {group_subject(course, gid)} is missing"]
    if (group.name, group.description) != (name, description):
        return [f"group {group_subject(course, gid)} has name {group.name!r}, wanted {name!r}"]
    return []


def _group_members_differences(
    change: _Change, course: str, gid: str, existing: ExistingSite, done: Sequence[str]
) -> list[str]:
    group = _group(existing, course, gid)
    members = group.members if group is not None else frozenset()
    what = f"group {group_subject(course, gid)}"
    return membership_differences(what, change.kind.sign, done, members)


# -- enrolment ---------------------------------------------------------------------


@dataclass(frozen=True)
class Enrol(_Change):
    course: str
    role: str
    usernames: tuple[str, ...]
    segment: str

    def contradicted_by(self, existing: ExistingSite, done: Sequence[str]) -> list[str]:
        course = existing.courses.get(self.course)
        roles = course.enrolments if course else {}
        enrolled = frozenset(u for u in done if self.role in roles.get(u, ()))
        what = f"course {self.course} as {self.role}"
        return membership_differences(what, self.kind.sign, done, enrolled)


@dataclass(frozen=True)
class Unenrol(_Change):
    course: str
    usernames: tuple[str, ...]
    segment: str

    def contradicted_by(self, existing: ExistingSite, done: Sequence[str]) -> list[str]:
        course = existing.courses.get(self.course)
        enrolled = frozenset(course.enrolments) if course else frozenset()
        return membership_differences(f"course {self.course}", self.kind.sign, done, enrolled)


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


# fmt: off
KINDS: tuple[Kind, ...] = (
    Kind(CreateSegment, Step.CREATE_SEGMENT, Target.SEGMENT, sign="+", lists_users=False,
         phase=0, summary="segments_create", summary_label="Segments to create",
         function=CREATE_COHORTS, fingerprints=("segment",),
         notes=(("idnumber", "segment ID"),)),
    Kind(UpdateSegment, Step.UPDATE_SEGMENT, Target.SEGMENT, sign="~", lists_users=False,
         phase=0, summary="segments_update", summary_label="Segments to update",
         function=UPDATE_COHORTS, fingerprints=("segment",),
         notes=(("id", "the site's segment id"), ("fields", "all fields as desired"),
                ("changed", "only the fields that differ"))),
    Kind(DeleteSegment, Step.DELETE_SEGMENT, Target.SEGMENT, sign="-", lists_users=False,
         phase=6, summary="segments_delete", summary_label="Segments to delete",
         function=DELETE_COHORTS, fingerprints=("segment", "segment-members")),
    Kind(AddSegmentMembers, Step.ADD_SEGMENT_MEMBERS, Target.SEGMENT, sign="+", lists_users=True,
         phase=1, summary="members_add", summary_label="Segment members to add",
         function=ADD_COHORT_MEMBERS, fingerprints=("segment-members",),
         notes=(("usernames", "array of strings"),)),
    Kind(RemoveSegmentMembers, Step.REMOVE_SEGMENT_MEMBERS, Target.SEGMENT, sign="-",
         lists_users=True, phase=3, summary="members_remove",
         summary_label="Segment members to remove", function=DELETE_COHORT_MEMBERS,
         fingerprints=("segment-members",)),
    Kind(CreateGroup, Step.CREATE_GROUP, Target.GROUP, sign="+", lists_users=False,
         phase=0, summary="groups_create", summary_label="Groups to create",
         function=CREATE_GROUPS, fingerprints=("course", "group"),
         notes=(("course", "course short name"), ("idnumber", "group idnumber"))),
    Kind(UpdateGroup, Step.UPDATE_GROUP, Target.GROUP, sign="~", lists_users=False,
         phase=0, summary="groups_update", summary_label="Groups to update",
         function=UPDATE_GROUPS, fingerprints=("course", "group"),
         notes=(("id", "the site's group id"),)),
    Kind(DeleteGroup, Step.DELETE_GROUP, Target.GROUP, sign="-", lists_users=False,
         phase=5, summary="groups_delete", summary_label="Groups to delete",
         function=DELETE_GROUPS, fingerprints=("group", "group-members")),
    Kind(AddGroupMembers, Step.ADD_GROUP_MEMBERS, Target.GROUP, sign="+", lists_users=True,
         phase=2, summary="group_members_add", summary_label="Group members to add",
         function=ADD_GROUP_MEMBERS, fingerprints=("enrolments", "group-members")),
    Kind(RemoveGroupMembers, Step.REMOVE_GROUP_MEMBERS, Target.GROUP, sign="-", lists_users=True,
         phase=3, summary="group_members_remove", summary_label="Group members to remove",
         function=DELETE_GROUP_MEMBERS, fingerprints=("enrolments", "group-members"),
         notes=(("existing_count", "members before the change"),)),
    Kind(Enrol, Step.ENROL, Target.COURSE, sign="+", lists_users=True,
         phase=1, summary="enrol", summary_label="Users to enrol",
         function=ENROL_USERS, fingerprints=("enrolments",),
         notes=(("role", "role short name"),
                ("segment", "the segment whose members are enrolled"))),
    Kind(Unenrol, Step.UNENROL, Target.COURSE, sign="-", lists_users=True,
         phase=4, summary="unenrol", summary_label="Users to unenrol",
         function=UNENROL_USERS, fingerprints=("enrolments",)),
)
# fmt: on
"""Every kind of change, in the order the plan's summary counts them (the order of the
plan JSON's summary keys and of the reports' summary tables): a new kind's row goes
last, so that the keys of a plan keep their order."""

KIND_OF: dict[type, Kind] = {kind.change: kind for kind in KINDS}
KIND_OF_STEP: dict[Step, Kind] = {kind.step: kind for kind in KINDS}

APPLY_PHASES: tuple[tuple[Step, ...], ...] = tuple(
    tuple(sorted(k.step for k in KINDS if k.phase == phase))
    for phase in sorted({k.phase for k in KINDS})
)
"""The steps of each apply phase, phases in order."""

WRITE_FUNCTIONS: dict[Step, str] = {kind.step: kind.function for kind in KINDS}
"""The web-service function that writes each step's changes."""

_UNCHECKED = [kind.change.__name__ for kind in KINDS if inspect.isabstract(kind.change)]
if _UNCHECKED:
    raise TypeError(f"change kinds without contradicted_by: {', '.join(_UNCHECKED)}")
