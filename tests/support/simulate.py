"""Apply changes to an existing model, as the site would (pure).

``simulate`` answers "what will the site look like after this plan?" without a site:
the test oracle the planner's tests use to check that applying a plan yields the
desired state. New objects get negative ids.

It follows the site's behaviour that matters to the plan: enrolling adds the role to
an existing enrolment; unenrolling drops the user's enrolment and their groups in
that course; deleting a group drops its memberships.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from plutoctl.errors import PlanError
from plutoctl.model import ExistingCourse, ExistingGroup, ExistingSegment, ExistingSite
from plutoctl.plan.changes.kinds import (
    AddGroupMembers,
    AddSegmentMembers,
    Change,
    CreateGroup,
    CreateSegment,
    DeleteGroup,
    DeleteSegment,
    Enrol,
    RemoveGroupMembers,
    RemoveSegmentMembers,
    Unenrol,
    UpdateGroup,
    UpdateSegment,
)


@dataclass
class _Course:
    """A course while changes are being applied to it (mutable, local to simulate)."""

    id: int
    shortname: str
    groups: list[ExistingGroup]
    enrolments: dict[str, frozenset[str]]

    @classmethod
    def of(cls, course: ExistingCourse) -> _Course:
        return cls(course.id, course.shortname, list(course.all_groups), dict(course.enrolments))

    def freeze(self) -> ExistingCourse:
        return ExistingCourse(self.id, self.shortname, tuple(self.groups), dict(self.enrolments))

    def index_of(self, idnumber: str) -> int:
        for index, group in enumerate(self.groups):
            if group.idnumber == idnumber:
                return index
        raise PlanError(f"course {self.shortname} has no group {idnumber}")


@dataclass
class _State:
    segments: dict[str, ExistingSegment]
    courses: dict[str, _Course]
    next_id: int = -1

    def new_id(self) -> int:
        new = self.next_id
        self.next_id -= 1
        return new

    def segment(self, idnumber: str) -> ExistingSegment:
        if idnumber not in self.segments:
            raise PlanError(f"segment {idnumber} does not exist")
        return self.segments[idnumber]

    def course(self, shortname: str) -> _Course:
        if shortname not in self.courses:
            raise PlanError(f"course {shortname} does not exist")
        return self.courses[shortname]


def simulate(existing: ExistingSite, changes: Iterable[Change]) -> ExistingSite:
    """Return the state of ``existing`` after ``changes`` ran, in the order given.

    Raises ``PlanError`` for a change naming an object that does not exist then.
    """
    state = _State(
        segments=dict(existing.segments),
        courses={name: _Course.of(course) for name, course in existing.courses.items()},
        next_id=_lowest_id(existing) - 1,
    )
    for change in changes:
        _apply(state, change)
    courses = {name: course.freeze() for name, course in state.courses.items()}
    return replace(existing, segments=state.segments, courses=courses)


def _lowest_id(existing: ExistingSite) -> int:
    """Return the lowest id in use, or 0: new ids go below it so they never collide."""
    ids = [segment.id for segment in existing.segments.values()]
    ids += [g.id for course in existing.courses.values() for g in course.all_groups]
    return min([0, *ids])


def _apply(state: _State, change: Change) -> None:
    match change:
        case (
            CreateSegment()
            | UpdateSegment()
            | DeleteSegment()
            | AddSegmentMembers()
            | RemoveSegmentMembers()
        ):
            _apply_segment(state, change)
        case CreateGroup() | UpdateGroup() | DeleteGroup():
            _apply_group(state.course(change.course), change, state)
        case AddGroupMembers() | RemoveGroupMembers():
            _apply_group_members(state.course(change.course), change)
        case Enrol() | Unenrol():
            _apply_enrolment(state.course(change.course), change)
        case _:
            raise TypeError(f"simulate does not apply {type(change).__name__} yet: teach it")


def _apply_segment(state: _State, change: Change) -> None:
    match change:
        case CreateSegment(idnumber=idnumber, fields=fields):
            if idnumber in state.segments:
                raise PlanError(f"segment {idnumber} already exists")
            state.segments[idnumber] = ExistingSegment(
                state.new_id(), idnumber, fields, frozenset()
            )
        case UpdateSegment(idnumber=idnumber, fields=fields):
            state.segments[idnumber] = replace(state.segment(idnumber), fields=fields)
        case DeleteSegment(idnumber=idnumber):
            state.segment(idnumber)
            del state.segments[idnumber]
        case AddSegmentMembers(idnumber=idnumber, usernames=names):
            segment = state.segment(idnumber)
            members = (segment.members or frozenset()) | frozenset(names)
            state.segments[idnumber] = replace(segment, members=members)
        case RemoveSegmentMembers(idnumber=idnumber, usernames=names):
            segment = state.segment(idnumber)
            members = (segment.members or frozenset()) - frozenset(names)
            state.segments[idnumber] = replace(segment, members=members)


def _apply_group(course: _Course, change: Change, state: _State) -> None:
    match change:
        case CreateGroup(idnumber=idnumber, name=name, description=description):
            if idnumber in {g.idnumber for g in course.groups}:
                raise PlanError(f"course {course.shortname} already has group {idnumber}")
            group = ExistingGroup(state.new_id(), idnumber, name, description)
            course.groups.append(group)
        case UpdateGroup(idnumber=idnumber, name=name, description=description):
            index = course.index_of(idnumber)
            course.groups[index] = replace(course.groups[index], name=name, description=description)
        case DeleteGroup(idnumber=idnumber):
            del course.groups[course.index_of(idnumber)]


def _apply_group_members(course: _Course, change: Change) -> None:
    match change:
        case AddGroupMembers(idnumber=idnumber, usernames=names):
            index = course.index_of(idnumber)
            group = course.groups[index]
            course.groups[index] = replace(group, members=group.members | frozenset(names))
        case RemoveGroupMembers(idnumber=idnumber, usernames=names):
            index = course.index_of(idnumber)
            group = course.groups[index]
            course.groups[index] = replace(group, members=group.members - frozenset(names))


def _apply_enrolment(course: _Course, change: Change) -> None:
    match change:
        case Enrol(role=role, usernames=names):
            for username in names:
                course.enrolments[username] = course.enrolments.get(username, frozenset()) | {role}
        case Unenrol(usernames=names):
            gone = frozenset(names)
            for username in gone:
                course.enrolments.pop(username, None)
            course.groups = [replace(g, members=g.members - gone) for g in course.groups]
