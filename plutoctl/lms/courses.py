"""Read the courses in scope: each course, its groups, its enrolments with roles, its members.

Three calls per course (the course, its groups, its enrolments, read side by side
with the other courses) and the members of every group of every course in as few
calls as ``max_input_vars`` allows. A course whose groups cannot be read is left
out, with the reason: without its groups an empty list would plan creates for
groups that exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from sys import intern
from typing import cast

from plutoctl.errors import LmsError, PermissionDeniedError
from plutoctl.lms.answers import (
    COURSES_ANSWER,
    ENROLMENTS,
    GROUP_MEMBERS,
    GROUPS,
    Course,
    EnrolmentRow,
    Group,
    GroupMembers,
    RoleRow,
)
from plutoctl.lms.client import ChunkResult, SiteClient
from plutoctl.lms.found import GUEST, Read, UserIndex, reason
from plutoctl.lms.functions import COURSE_GROUPS, COURSES_BY_FIELD, GET_GROUP_MEMBERS, list_key
from plutoctl.lms.pages import enrolled_pages
from plutoctl.lms.responses import validate_answer
from plutoctl.model import ExistingCourse, ExistingGroup

ENROLMENT_PAGE = 5000
MISSING_RECORD = "invalidrecord"  # dml_missing_record_exception


@dataclass
class CourseRead(Read):
    course: Course | None = None
    groups: list[Group] = field(default_factory=list)
    group_members: dict[int, list[int]] = field(default_factory=dict)
    enrolled: dict[str, frozenset[str]] = field(default_factory=dict)  # username → roles
    failure: str | None = None  # why the course or its groups could not be read
    phantoms: set[int] = field(default_factory=set)  # listed groups whose record is gone

    def assemble_course(self, users: UserIndex) -> ExistingCourse | None:
        """Return the course read, its members named; the read's ids and names are let go."""
        if self.course is None:
            return None
        groups = tuple(
            ExistingGroup(
                id=group.id,
                idnumber=group.idnumber or "",
                name=group.name,
                description=group.description or "",
                members=users.names(self.group_members.pop(group.id, []), f"group {group.name!r}"),
            )
            for group in self.groups
            if group.id not in self.phantoms
        )
        gone = tuple(group.name for group in self.groups if group.id in self.phantoms)
        enrolled, self.enrolled = self.enrolled, {}
        return ExistingCourse(self.course.id, self.course.shortname, groups, enrolled, gone)


class CourseReads:
    """The reads of the courses in scope; each course's ``CourseRead`` raises only when fatal."""

    def __init__(self, client: SiteClient) -> None:
        self.client = client
        self.site = client.site
        self.role_sets: dict[frozenset[str], frozenset[str]] = {}
        self.single_roles: dict[str, frozenset[str]] = {}  # role name → role_sets' {name}
        self.role_ids: dict[str, int] = {}  # the site's id of each role seen (shortname →)

    def read_courses(
        self, shortnames: Iterable[str], *, known: Mapping[str, int] | None = None
    ) -> dict[str, CourseRead]:
        """Read each course (by short name), its groups, enrolments and group members.

        ``known``: course ids learned earlier in the run (short name → id); those
        courses are not looked up again.
        """
        names = sorted(shortnames)
        ids = dict(known or {})

        def read(name: str) -> CourseRead:
            return self._read_course(name, ids.get(name))

        reads = dict(zip(names, self.client.map_concurrent(read, names), strict=True))
        self._read_group_members([read for read in reads.values() if read.groups])
        return reads

    def _read_course(self, shortname: str, known_id: int | None = None) -> CourseRead:
        read = CourseRead()
        if known_id is not None:
            read.course = Course(id=known_id, shortname=shortname)
        else:
            try:
                raw = self.client.read(COURSES_BY_FIELD, {"field": "shortname", "value": shortname})
            except LmsError as exc:
                read.failure = reason(f"course {shortname}", exc)
                read.incomplete.append(read.failure)
                return read
            answer = validate_answer(COURSES_ANSWER, raw, site=self.site, function=COURSES_BY_FIELD)
            read.course = next((c for c in answer.courses if c.shortname == shortname), None)
        if read.course is None:
            return read
        self._read_course_groups(read)
        if read.failure:
            return read
        try:
            entries, failure = enrolled_pages(
                self.client,
                read.course.id,
                "id,username,roles",
                ENROLMENTS,
                size=ENROLMENT_PAGE,
                wave=1,
                key=attrgetter("id"),
                what=f"enrolments of course {shortname}",
            )
        except PermissionDeniedError as exc:
            read.incomplete.append(reason(f"enrolments of course {shortname}", exc))
            return read
        self._keep_enrolments(read, entries)
        if failure:
            read.incomplete.append(failure)
        return read

    def _keep_enrolments(self, read: CourseRead, entries: list[EnrolmentRow]) -> None:
        """Note who is enrolled with which roles, and their names, as compactly as we can.

        One loop, one shared frozenset per distinct set of roles: this runs for every
        enrolment of every course in scope.
        """
        role_sets = self.role_sets
        single = self.single_roles
        enrolled, named = read.enrolled, read.named
        partial = 0
        for entry in entries:
            if not entry.username or entry.username == GUEST or entry.deleted:
                continue
            # Interned, as the user index interns its names: one string per username.
            username = intern(entry.username)
            listed = entry.roles
            if listed is None:
                # Read without its roles: not "no roles", unknown ones.
                partial += 1
                listed = []
            if len(listed) == 1:
                # Nearly every entry holds one role: look its set up by name rather than
                # build a frozenset per entry (420,000 entries on a 200-course site).
                name = listed[0].shortname
                roles = single.get(name)
                if roles is None:
                    roles = single[name] = role_sets.setdefault(
                        frozenset((name,)), frozenset((name,))
                    )
                    self._learn_role_ids(listed)
            else:
                built = frozenset(role.shortname for role in listed)
                roles = role_sets.get(built)
                if roles is None:
                    roles = role_sets[built] = built
                    self._learn_role_ids(listed)
            enrolled[username] = roles
            named[entry.id] = username
        if partial:
            course = read.course.shortname if read.course else "?"
            read.incomplete.append(f"{partial} enrolment(s) of course {course} lack their roles")

    def _learn_role_ids(self, roles: Iterable[RoleRow]) -> None:
        """Note the site's id of each role (once a set of roles: they are few)."""
        for role in roles:
            if role.roleid > 0:
                self.role_ids.setdefault(role.shortname, role.roleid)

    def _read_course_groups(self, read: CourseRead) -> None:
        assert read.course is not None
        try:
            raw = self.client.read(COURSE_GROUPS, {"courseid": read.course.id})
        except LmsError as exc:
            # Without its groups nothing about the course can be planned safely: an
            # empty list would plan creates for groups that exist.
            read.failure = reason(f"groups of course {read.course.shortname}", exc)
            read.incomplete.append(read.failure)
            return
        read.groups = validate_answer(GROUPS, raw, site=self.site, function=COURSE_GROUPS)

    def _read_group_members(self, reads: list[CourseRead]) -> None:
        """Read the members of every group of every course, many groups per call."""
        owner = {group.id: read for read in reads for group in read.groups}
        if not owner:
            return
        chunks = self.client.call_chunked(
            GET_GROUP_MEMBERS,
            list_key(GET_GROUP_MEMBERS),
            list(owner),
            retry_safe=True,
            adapter=GROUP_MEMBERS,
        )
        for chunk in chunks:
            if chunk.error is not None and chunk.error.errorcode == MISSING_RECORD:
                chunk = self._find_phantom_groups(chunk, owner)
            if chunk.error is not None:
                why = reason(f"members of {len(chunk.items)} groups", chunk.error)
                owner[chunk.items[0]].incomplete.append(why)
                continue
            for answer in cast(list[GroupMembers], chunk.result):
                if answer.groupid in owner:
                    owner[answer.groupid].group_members[answer.groupid] = answer.userids
                    owner[answer.groupid].member_lists.append(answer.userids)
            for group_id in chunk.items:
                if group_id in owner[group_id].phantoms:
                    continue
                if group_id not in owner[group_id].group_members:
                    owner[group_id].incomplete.append(
                        f"members of group id {group_id} missing from the answer"
                    )

    def _find_phantom_groups(self, chunk: ChunkResult, owner: dict[int, CourseRead]) -> ChunkResult:
        """Read a failed chunk's groups one by one, setting apart groups that do not exist.

        Moodle 4.5 keeps listing a group whose creation it rolled back (its course
        cache outlives the transaction), and then fails ``invalidrecord`` on any
        members read that names it. Such a group is set apart (the plan warns about
        it) and treated as missing, so the plan creates it, which clears the site's
        cache, instead of failing on every run. Nothing about the other groups is
        unknown. Returns the chunk with the members of the groups that exist.
        """
        found: list[GroupMembers] = []
        for group_id in chunk.items:
            try:
                raw = self.client.read(GET_GROUP_MEMBERS, {"groupids": [group_id]}, GROUP_MEMBERS)
            except LmsError as exc:
                if exc.errorcode != MISSING_RECORD:
                    return ChunkResult(chunk.items, error=exc)
                owner[group_id].phantoms.add(group_id)  # reported by the plan (gone_groups)
                continue
            found += cast(list[GroupMembers], raw)
        return ChunkResult(chunk.items, result=found)
