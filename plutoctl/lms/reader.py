"""Read a site's existing state: segments, users and courses, as far as the scope needs.

Designed for what a live Moodle costs (docs/lms.md): every call has a fixed cost of
tens of milliseconds and the server serves 2–4 calls at once, so the reader makes few
calls, reads lists in bulk (many ids per call, chunked to ``max_input_vars``) and runs
independent reads concurrently. Users are read in full, in pages, only when rules
need their profiles.

A read that fails part-way leaves a reason in ``ExistingSite.incomplete`` so that the
plan makes no removals; failures that leave nothing usable (token refused, site down,
functions missing, the segment list unreadable) raise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from typing import Any, TypeVar, cast

from pydantic import TypeAdapter

from plutoctl.errors import (
    AccessDeniedError,
    InvalidTokenError,
    LmsError,
    PermissionDeniedError,
    WebServiceDisabledError,
)
from plutoctl.lms.answers import (
    COHORT_MEMBERS,
    COHORTS,
    COURSES_ANSWER,
    ENROLMENTS,
    GROUP_MEMBERS,
    GROUPS,
    SEARCH_ANSWER,
    USERS,
    USERS_ANSWER,
    Cohort,
    CohortMembers,
    Course,
    Enrolment,
    Group,
    GroupMembers,
    UserRecord,
)
from plutoctl.lms.client import ChunkResult, SiteClient
from plutoctl.lms.functions import (
    COURSE_GROUPS,
    COURSES_BY_FIELD,
    ENROLLED_USERS,
    GET_COHORT_MEMBERS,
    GET_COHORTS,
    GET_GROUP_MEMBERS,
    GET_USERS,
    SEARCH_COHORTS,
    SITE_INFO,
    USERS_BY_FIELD,
)
from plutoctl.lms.resolve import listing_bound
from plutoctl.lms.responses import AnswerShapeError, validate_answer
from plutoctl.model import (
    ExistingCourse,
    ExistingGroup,
    ExistingSegment,
    ExistingSite,
    SegmentFields,
    User,
)

log = logging.getLogger(__name__)

COHORT_PAGE = 1000
ENROLMENT_PAGE = 5000
MISSING_RECORD = "invalidrecord"  # dml_missing_record_exception

GUEST = "guest"
# Errors after which nothing on the site can be read: they end the read at once.
_FATAL = (InvalidTokenError, AccessDeniedError, WebServiceDisabledError)


@dataclass(frozen=True)
class ReadScope:
    """What the plan for a site needs read.

    ``segments``: segment IDs whose members are needed. ``needs_all_users``: rules are
    in scope, so every user is read with profiles. ``standard_fields``: standard user
    fields the rules use. ``usernames``: users the config names. ``courses``: course
    short names in scope. ``page_size``: users per page when listing users (pages of
    1,000 keep the calls in flight busy to the end). ``needs_custom_fields``: rules
    read custom profile fields (asking for them triples a listing's cost).
    ``known_users``: ids and usernames learned earlier in the run (id → username),
    never looked up again.
    """

    segments: frozenset[str] = frozenset()
    needs_all_users: bool = False
    standard_fields: frozenset[str] = frozenset()
    usernames: frozenset[str] = frozenset()
    courses: frozenset[str] = frozenset()
    page_size: int = 1000
    needs_custom_fields: bool = True
    known_users: Mapping[int, str] = field(default_factory=dict, compare=False, hash=False)


def read_functions(scope: ReadScope, available: Iterable[str] = ()) -> frozenset[str]:
    """Return the web-service functions reading ``scope`` needs.

    Every user is listed with ``core_enrol_get_enrolled_users`` and every cohort with
    ``core_cohort_get_cohorts``; where the token's service (``available``) offers only
    ``core_user_get_users`` or ``core_cohort_search_cohorts``, those are used instead.
    """
    offered = set(available)
    names = {SITE_INFO}
    use_search = GET_COHORTS not in offered and SEARCH_COHORTS in offered
    names.add(SEARCH_COHORTS if use_search else GET_COHORTS)
    if scope.segments:
        names.add(GET_COHORT_MEMBERS)
    if scope.segments or scope.usernames or scope.courses or scope.needs_all_users:
        names.add(USERS_BY_FIELD)
    if scope.needs_all_users:
        use_fallback = ENROLLED_USERS not in offered and GET_USERS in offered
        names.add(GET_USERS if use_fallback else ENROLLED_USERS)
    if scope.courses:
        names |= {COURSES_BY_FIELD, COURSE_GROUPS, GET_GROUP_MEMBERS, ENROLLED_USERS}
    return frozenset(names)


def read_site(client: SiteClient, scope: ReadScope) -> ExistingSite:
    """Read the existing state of the client's site that ``scope`` needs."""
    info = client.site_info()
    client.require_functions(read_functions(scope, info.functions))
    context = _Context(client, scope, info.functions, info.site_id)
    # The three parts are independent: run them side by side.
    parts: list[Callable[[], object]] = [
        context.read_segments,
        context.read_users,
        context.read_courses,
    ]
    done = client.map_concurrent(lambda part: part(), parts)
    segments_read = cast(_SegmentsRead, done[0])
    users_read = cast(_UsersRead, done[1])
    courses_read = cast(dict[str, _CourseRead], done[2])
    # The user listing comes first: where reads overlap, its records carry the profiles.
    reads: list[_Read] = [users_read, segments_read, *courses_read.values()]
    users = _Users.merge(reads, scope.standard_fields)
    if scope.needs_all_users:
        context.resolve_ids(users, reads)
    else:
        context.learn_users(users, reads)
    context.read_suspension(users)
    segments = segments_read.assemble_segments(users)
    courses = {
        name: read.assemble_course(users)
        for name, read in courses_read.items()
        if read.course and not read.failure
    }
    unread = {name: read.failure for name, read in courses_read.items() if read.failure}
    incomplete = [reason for read in reads for reason in read.incomplete] + users.incomplete
    has_all = scope.needs_all_users and users_read.is_listing_complete
    return ExistingSite(
        site=client.site,
        segments=segments,
        users=users.by_username(),
        courses={name: course for name, course in courses.items() if course is not None},
        field_types=users.field_types,
        has_all_users=has_all,
        incomplete=tuple(incomplete),
        release=info.release,
        unread_courses=unread,
    )


def _parse(adapter: TypeAdapter[Any], raw: Any, *, site: str, function: str) -> Any:
    return validate_answer(adapter, raw, site=site, function=function)


def _reason(what: str, error: LmsError) -> str:
    """Return an incomplete-read reason, or raise if the error ends the whole read."""
    if isinstance(error, _FATAL):
        raise error
    return f"{what}: {error.reason} [{error.errorcode}]"


# --- partial reads ----------------------------------------------------------------------


@dataclass
class _Read:
    """What one part of the read found: users seen, ids to name, and what went wrong.

    ``named`` holds users seen with only a name (id → username): course enrolments,
    400,000 on a large site, where a full record each would cost dearly.
    """

    users: dict[int, UserRecord] = field(default_factory=dict)
    named: dict[int, str] = field(default_factory=dict)
    wanted_ids: set[int] = field(default_factory=set)
    incomplete: list[str] = field(default_factory=list)


@dataclass
class _SegmentsRead(_Read):
    cohorts: dict[str, Cohort] = field(default_factory=dict)
    member_ids: dict[str, list[int]] = field(default_factory=dict)
    system_ids: frozenset[int] | None = None  # cohorts in the system context, if known

    def assemble_segments(self, users: _Users) -> dict[str, ExistingSegment]:
        segments = {}
        system = self.system_ids
        for idnumber, cohort in self.cohorts.items():
            members = None
            if idnumber in self.member_ids:
                members = users.names(self.member_ids[idnumber], f"segment {idnumber}")
            fields = SegmentFields(cohort.name, cohort.description or "", cohort.visible)
            in_category = system is not None and cohort.id not in system
            segments[idnumber] = ExistingSegment(cohort.id, idnumber, fields, members, in_category)
        return segments


@dataclass
class _UsersRead(_Read):
    is_listing_complete: bool = False


@dataclass
class _CourseRead(_Read):
    course: Course | None = None
    groups: list[Group] = field(default_factory=list)
    group_members: dict[int, list[int]] = field(default_factory=dict)
    enrolled: dict[str, frozenset[str]] = field(default_factory=dict)  # username → roles
    failure: str | None = None  # why the course or its groups could not be read
    phantoms: set[int] = field(default_factory=set)  # listed groups whose record is gone

    def assemble_course(self, users: _Users) -> ExistingCourse | None:
        if self.course is None:
            return None
        groups = tuple(
            ExistingGroup(
                id=group.id,
                idnumber=group.idnumber or "",
                name=group.name,
                description=group.description or "",
                members=users.names(self.group_members.get(group.id, []), f"group {group.name!r}"),
            )
            for group in self.groups
            if group.id not in self.phantoms
        )
        gone = tuple(group.name for group in self.groups if group.id in self.phantoms)
        return ExistingCourse(self.course.id, self.course.shortname, groups, self.enrolled, gone)


class _Users:
    """Every user the read saw, by id; names member ids and notes those it cannot."""

    def __init__(
        self,
        records: Mapping[int, UserRecord],
        standard: frozenset[str],
        thin: Iterable[int] = (),
    ) -> None:
        self.records = dict(records)
        # id → username, kept beside the records: naming 500,000 segment members by
        # attribute lookups on the records took about a second.
        self.usernames = {user_id: record.username for user_id, record in self.records.items()}
        self.standard = standard
        self.incomplete: list[str] = []
        # Users seen only by name (course enrolments): their profiles were not read.
        self.thin: set[int] = set(thin)

    @classmethod
    def merge(cls, reads: Iterable[_Read], standard: frozenset[str]) -> _Users:
        merged: dict[int, UserRecord] = {}
        thin: set[int] = set()
        for read in reads:
            for user_id, record in read.users.items():
                merged.setdefault(user_id, record)
            # Set difference in C: a full listing has already seen nearly every one of
            # the 400,000 enrolled users of a large site's courses.
            for user_id in read.named.keys() - merged.keys():
                merged[user_id] = UserRecord(id=user_id, username=read.named[user_id])
                thin.add(user_id)
        return cls(merged, standard, thin)

    def add(self, records: Iterable[UserRecord]) -> None:
        """Add full records; one replaces a name-only record of the same user."""
        for record in records:
            if record.id in self.thin:
                self.records[record.id] = record
                self.thin.discard(record.id)
            self.usernames.setdefault(
                record.id, self.records.setdefault(record.id, record).username
            )

    def names(self, ids: Iterable[int], owner: str) -> frozenset[str]:
        usernames = self.usernames
        # map() over dict.get runs in C: this names 500,000 segment and group members.
        found = list(map(usernames.get, ids))
        if None not in found:
            return frozenset(cast(list[str], found))
        missing = [i for i in ids if i not in usernames]
        found = [name for name in found if name is not None]
        if missing:
            self.incomplete.append(
                f"{len(missing)} member(s) of {owner} could not be named (user ids "
                f"{', '.join(map(str, sorted(missing)[:5]))}{'…' if len(missing) > 5 else ''})"
            )
        return frozenset(cast(list[str], found))

    @property
    def field_types(self) -> dict[str, str]:
        types: dict[str, str] = {}
        for record in self.records.values():
            for custom in record.customfields:
                types.setdefault(custom.shortname, custom.type)
        return types

    def by_username(self) -> dict[str, User]:
        return {
            record.username: _to_user(record, self.standard)
            for record in sorted(self.records.values(), key=lambda r: r.id)
            if record.username
        }


def _to_user(record: UserRecord, standard_fields: frozenset[str]) -> User:
    standard: dict[str, str] = {}
    for name in standard_fields:
        if name == "suspended":
            if record.suspended is not None:  # unknown stays out: never "not suspended"
                standard[name] = "1" if record.suspended else "0"
        else:
            standard[name] = str(getattr(record, name, None) or "")
    custom = {f.shortname: f.value for f in record.customfields if f.value is not None}
    return User(record.id, record.username, record.suspended, standard, custom)


def _keep(record: UserRecord) -> bool:
    return bool(record.username) and record.username != GUEST and not record.deleted


# --- the reads ---------------------------------------------------------------------------


class _Context:
    """The reads of one site; each returns a ``_Read`` and raises only when fatal."""

    def __init__(
        self, client: SiteClient, scope: ReadScope, functions: frozenset[str], site_id: int
    ) -> None:
        self.client = client
        self.scope = scope
        self.functions = functions
        self.site_id = site_id
        self.site = client.site
        self.role_sets: dict[frozenset[str], frozenset[str]] = {}
        self.single_roles: dict[str, frozenset[str]] = {}  # role name → role_sets' {name}

    def call(
        self,
        function: str,
        params: Mapping[str, Any] | None = None,
        adapter: TypeAdapter[Any] | None = None,
    ) -> Any:
        return self.client.call(function, params, retry_safe=True, adapter=adapter)

    # segments

    def read_segments(self) -> _SegmentsRead:
        read = _SegmentsRead()
        cohorts = self._list_cohorts()
        duplicates: dict[str, int] = {}
        for cohort in sorted(cohorts, key=lambda c: c.id):
            if not cohort.idnumber:
                continue
            if cohort.idnumber in read.cohorts:
                duplicates[cohort.idnumber] = duplicates.get(cohort.idnumber, 1) + 1
                continue
            read.cohorts[cohort.idnumber] = cohort
        for idnumber, count in sorted(duplicates.items()):
            read.incomplete.append(
                f"segment ID {idnumber!r} is used by {count} cohorts on the site; only the "
                "first was read"
            )
        self._read_cohort_members(read)
        if self.scope.segments and SEARCH_COHORTS in self.functions:
            read.system_ids = frozenset(c.id for c in self._search_cohorts("self"))
        return read

    def _list_cohorts(self) -> list[Cohort]:
        """List every cohort in one call, or page through the search where that fails.

        ``core_cohort_get_cohorts`` throws on the first cohort the token may not view;
        the search (``includes=all``) skips such contexts instead.
        """
        if GET_COHORTS in self.functions:
            try:
                raw = self.call(GET_COHORTS)
            except PermissionDeniedError:
                if SEARCH_COHORTS not in self.functions:
                    raise
                log.info("%s: listing cohorts refused; using %s", self.site, SEARCH_COHORTS)
            else:
                return list(_parse(COHORTS, raw, site=self.site, function=GET_COHORTS))
        return self._search_cohorts("all")

    def _search_cohorts(self, includes: str) -> list[Cohort]:
        """Page through the cohort search from the system context.

        ``all``: every cohort the token may see. ``self``: the system-level ones only,
        the one way to tell a category-level cohort, whose context no answer names
        (docs/lms.md, "Cohort search pages by index").
        """
        cohorts: list[Cohort] = []
        page = 0
        while True:
            # limitfrom is a page index here, not a row offset (docs/lms.md, as above).
            params = {
                "query": "",
                "context": {"contextlevel": "system", "instanceid": 0},
                "includes": includes,
                "limitfrom": page,
                "limitnum": COHORT_PAGE,
            }
            raw = self.call(SEARCH_COHORTS, params)
            answer = _parse(SEARCH_ANSWER, raw, site=self.site, function=SEARCH_COHORTS)
            cohorts += answer.cohorts
            if len(answer.cohorts) < COHORT_PAGE:
                return cohorts
            page += 1

    def _read_cohort_members(self, read: _SegmentsRead) -> None:
        wanted = {read.cohorts[s].id: s for s in sorted(self.scope.segments) if s in read.cohorts}
        if not wanted:
            return
        # Spread over the calls in flight: an answer costs the site per member listed.
        chunks = self.client.call_chunked(
            GET_COHORT_MEMBERS,
            "cohortids",
            list(wanted),
            retry_safe=True,
            adapter=COHORT_MEMBERS,
            spread=True,
        )
        for chunk in chunks:
            if chunk.error is not None:
                names = ", ".join(wanted[i] for i in chunk.items)
                read.incomplete.append(_reason(f"members of segments {names}", chunk.error))
                continue
            for answer in cast(list[CohortMembers], chunk.result):
                if answer.cohortid in wanted:
                    read.member_ids[wanted[answer.cohortid]] = answer.userids
                    read.wanted_ids.update(answer.userids)
            for cohort_id in chunk.items:
                if wanted[cohort_id] not in read.member_ids:
                    read.incomplete.append(
                        f"members of segment {wanted[cohort_id]} missing from the answer"
                    )

    # users

    def read_users(self) -> _UsersRead:
        """List every user if rules need them; otherwise named users are learned later.

        Where the listing failed part-way, the named users are looked up by field.
        """
        read = _UsersRead()
        if not self.scope.needs_all_users:
            return read
        self._list_all_users(read)
        named = set(self.scope.usernames) - {u.username for u in read.users.values()}
        if named and not read.is_listing_complete:
            read.users.update(self._users_by_field("username", sorted(named), read))
        return read

    def _list_all_users(self, read: _UsersRead) -> None:
        if ENROLLED_USERS in self.functions:
            try:
                records, failure = self._enrolled_pages(
                    self.site_id, self._user_fields(), wave=self.client.parallelism
                )
            except (AccessDeniedError, PermissionDeniedError):
                if GET_USERS not in self.functions:
                    raise
                log.info(
                    "%s: listing users on the site course refused; using %s", self.site, GET_USERS
                )
            else:
                read.users.update((r.id, r) for r in records if _keep(r))
                read.is_listing_complete = failure is None
                if failure:
                    read.incomplete.append(failure)
                return
        raw = self.call(GET_USERS, {"criteria": [{"key": "email", "value": "%"}]})
        answer = _parse(USERS_ANSWER, raw, site=self.site, function=GET_USERS)
        read.users.update((r.id, r) for r in answer.users if _keep(r))
        read.is_listing_complete = True

    def _user_fields(self) -> str:
        return ",".join(self._listing_fields())

    def _listing_fields(self) -> tuple[str, ...]:
        # Every field asked for is paid on every user: only what rules read.
        # ``suspended`` is left out: core_enrol_get_enrolled_users never returns it
        # (Moodle 4.5), yet asking for it costs on every user. See read_suspension.
        fields = ["id", "username"] + (["customfields"] if self.scope.needs_custom_fields else [])
        fields += sorted(set(self.scope.standard_fields) - {*fields, "suspended"})
        return tuple(fields)

    def _enrolled_pages(
        self, course_id: int, userfields: str, *, wave: int
    ) -> tuple[list[UserRecord], str | None]:
        """Page through a course's enrolled users, ``wave`` pages at a time.

        Returns the users and, if a page failed, the reason (the rest is unknown).
        """
        size = self.scope.page_size

        def page(index: int) -> list[UserRecord] | LmsError:
            options = [
                {"name": "userfields", "value": userfields},
                {"name": "limitfrom", "value": index * size},
                {"name": "limitnumber", "value": size},
            ]
            params = {"courseid": course_id, "options": options}
            try:
                return cast(list[UserRecord], self.call(ENROLLED_USERS, params, USERS))
            except (AccessDeniedError, PermissionDeniedError, AnswerShapeError):
                raise  # not a partial read: the caller may fall back to another function
            except LmsError as exc:
                return exc

        what = f"users of course id {course_id}"
        return _read_pages(self.client, page, size, wave, what, key=attrgetter("id"))

    def _enrolment_pages(self, course_id: int) -> tuple[list[Enrolment], str | None]:
        """Page through a course's enrolled users (id, username, roles)."""
        size = ENROLMENT_PAGE

        def page(index: int) -> list[Enrolment] | LmsError:
            options = [
                {"name": "userfields", "value": "id,username,roles"},
                {"name": "limitfrom", "value": index * size},
                {"name": "limitnumber", "value": size},
            ]
            params = {"courseid": course_id, "options": options}
            try:
                return cast(list[Enrolment], self.call(ENROLLED_USERS, params, ENROLMENTS))
            except (AccessDeniedError, PermissionDeniedError, AnswerShapeError):
                raise  # not a partial read: the caller reports the course
            except LmsError as exc:
                return exc

        what = f"users of course id {course_id}"
        return _read_pages(self.client, page, size, 1, what, key=itemgetter("id"))

    def _users_by_field(self, key: str, values: list[Any], read: _Read) -> dict[int, UserRecord]:
        found: dict[int, UserRecord] = {}
        chunks = self.client.call_chunked(
            USERS_BY_FIELD,
            "values",
            values,
            params={"field": key},
            retry_safe=True,
            adapter=USERS,
        )
        for chunk in chunks:
            if chunk.error is not None:
                read.incomplete.append(_reason(f"looking up {len(chunk.items)} users", chunk.error))
                continue
            found.update((r.id, r) for r in cast(list[UserRecord], chunk.result) if _keep(r))
        return found

    def read_suspension(self, users: _Users) -> None:
        """Learn who is suspended, when rules use ``user.suspended`` and only then.

        No listing says it: core_enrol_get_enrolled_users never returns ``suspended``.
        core_user_get_users_by_field does, at about 3 ms a user (docs/lms.md,
        "Suspension" and "What calls cost"), so it is asked for the users whose state
        no read gave. Users it does not answer for stay unknown, and the read is marked
        incomplete.
        """
        if "suspended" not in self.scope.standard_fields:
            return
        unknown = sorted(i for i, r in users.records.items() if r.suspended is None)
        if not unknown:
            return
        read = _Read()
        found = self._users_by_field("id", unknown, read)
        for user_id, record in found.items():
            if user_id in users.records and record.suspended is not None:
                users.records[user_id] = users.records[user_id].model_copy(
                    update={"suspended": record.suspended}
                )
        users.incomplete.extend(read.incomplete)
        still = [i for i in unknown if users.records[i].suspended is None]
        if still and not read.incomplete:
            users.incomplete.append(f"whether {len(still)} user(s) are suspended is not known")

    def learn_users(self, users: _Users, reads: list[_Read]) -> None:
        """Name every member id and find every named user the reads have not, cheapest first.

        What the run learned earlier (``known_users``) is not asked again, where no
        profile is needed. The rest is looked up by field, or, past the break-even
        (about one user in ten of the site's), learned by listing every user with
        ``id,username`` and the profile fields the scope needs: never both.
        """
        fields = self._listing_fields()
        needs_profiles = fields != ("id", "username")
        known = {} if needs_profiles else self.scope.known_users
        ids = set().union(*(read.wanted_ids for read in reads)) - set(users.records)
        users.add(UserRecord(id=i, username=known[i]) for i in sorted(ids & known.keys()))
        ids -= known.keys()
        # Named users need their profiles where the scope needs any: a user seen only
        # in a course's enrolments (a name, no profile) is learned again.
        thin = users.thin if needs_profiles else set()
        seen = {name for user_id, name in users.usernames.items() if user_id not in thin}
        names = set(self.scope.usernames) - seen
        by_name = {username: user_id for user_id, username in known.items()}
        users.add(UserRecord(id=by_name[n], username=n) for n in sorted(names & by_name.keys()))
        names -= by_name.keys()
        asked = len(ids) + len(names)
        if not asked:
            return
        read = _Read()
        can_list = ENROLLED_USERS in self.functions
        bound = listing_bound(self.client, self.site_id, asked, fields) if can_list else None
        if bound is not None:
            # No more pages in flight than the site can fill: there are no ids past ``bound``.
            pages = bound // self.scope.page_size + 1
            try:
                listed, failure = self._enrolled_pages(
                    self.site_id, ",".join(fields), wave=min(self.client.parallelism, pages)
                )
            except (AccessDeniedError, PermissionDeniedError):
                log.info("%s: listing users refused; looking %d up by field", self.site, asked)
            else:
                users.add(record for record in listed if _keep(record))
                users.incomplete.extend([failure] if failure else [])
                return
        lookups: list[tuple[str, list[Any]]] = [("username", sorted(names)), ("id", sorted(ids))]
        found = self.client.map_concurrent(
            lambda lookup: self._users_by_field(lookup[0], lookup[1], read) if lookup[1] else {},
            lookups,
        )
        for records in found:
            users.add(records.values())
        users.incomplete.extend(read.incomplete)

    def resolve_ids(self, users: _Users, reads: list[_Read]) -> None:
        """Look up, in one call, every user id a read found that no read has fully read.

        Members no read has named, and, when rules need profiles, users seen only by
        name in a course's enrolments: a user the site-wide listing missed is
        *unknown*, never a user with an empty profile (rules would drop them). One the
        lookup cannot return either leaves the read incomplete, so nothing is removed.
        """
        wanted = set().union(*(read.wanted_ids for read in reads)) - set(users.records)
        if self.scope.needs_all_users:
            wanted |= users.thin
        if not wanted:
            return
        read = _Read()
        users.add(self._users_by_field("id", sorted(wanted), read).values())
        users.incomplete.extend(read.incomplete)
        if self.scope.needs_all_users and users.thin:
            unknown = sorted(users.thin)
            shown = ", ".join(map(str, unknown[:5])) + ("…" if len(unknown) > 5 else "")
            users.incomplete.append(
                f"the profiles of {len(unknown)} user(s) seen in course enrolments could "
                f"not be read: the user listing missed them and the lookup by id did not "
                f"return them (user ids {shown})"
            )

    # courses

    def read_courses(self) -> dict[str, _CourseRead]:
        names = sorted(self.scope.courses)
        reads = dict(zip(names, self.client.map_concurrent(self._read_course, names), strict=True))
        self._read_group_members([read for read in reads.values() if read.groups])
        return reads

    def _read_course(self, shortname: str) -> _CourseRead:
        read = _CourseRead()
        try:
            raw = self.call(COURSES_BY_FIELD, {"field": "shortname", "value": shortname})
        except LmsError as exc:
            read.failure = _reason(f"course {shortname}", exc)
            read.incomplete.append(read.failure)
            return read
        answer = _parse(COURSES_ANSWER, raw, site=self.site, function=COURSES_BY_FIELD)
        read.course = next((c for c in answer.courses if c.shortname == shortname), None)
        if read.course is None:
            return read
        self._read_course_groups(read)
        if read.failure:
            return read
        try:
            entries, failure = self._enrolment_pages(read.course.id)
        except PermissionDeniedError as exc:
            read.incomplete.append(_reason(f"enrolments of course {shortname}", exc))
            return read
        self._keep_enrolments(read, entries)
        if failure:
            read.incomplete.append(failure)
        return read

    def _keep_enrolments(self, read: _CourseRead, entries: list[Enrolment]) -> None:
        """Note who is enrolled with which roles, and their names, as compactly as we can.

        One loop, one shared frozenset per distinct set of roles: this runs for every
        enrolment of every course in scope.
        """
        role_sets = self.role_sets
        single = self.single_roles
        enrolled, named = read.enrolled, read.named
        partial = 0
        for entry in entries:
            username = entry.get("username", "")
            if not username or username == GUEST or entry.get("deleted", False):
                continue
            listed = entry.get("roles")
            if listed is None:
                # Read without its roles: not "no roles", unknown ones.
                partial += 1
                listed = []
            if len(listed) == 1:
                # Nearly every entry holds one role: look its set up by name rather than
                # build a frozenset per entry (420,000 entries on a 200-course site).
                name = listed[0].get("shortname", "")
                roles = single.get(name)
                if roles is None:
                    roles = single[name] = role_sets.setdefault(
                        frozenset((name,)), frozenset((name,))
                    )
            else:
                built = frozenset(role.get("shortname", "") for role in listed)
                roles = role_sets.setdefault(built, built)
            enrolled[username] = roles
            named[entry["id"]] = username
        if partial:
            course = read.course.shortname if read.course else "?"
            read.incomplete.append(f"{partial} enrolment(s) of course {course} lack their roles")

    def _read_course_groups(self, read: _CourseRead) -> None:
        assert read.course is not None
        try:
            raw = self.call(COURSE_GROUPS, {"courseid": read.course.id})
        except LmsError as exc:
            # Without its groups nothing about the course can be planned safely: an
            # empty list would plan creates for groups that exist.
            read.failure = _reason(f"groups of course {read.course.shortname}", exc)
            read.incomplete.append(read.failure)
            return
        read.groups = _parse(GROUPS, raw, site=self.site, function=COURSE_GROUPS)

    def _read_group_members(self, reads: list[_CourseRead]) -> None:
        """Read the members of every group of every course, many groups per call."""
        owner = {group.id: read for read in reads for group in read.groups}
        if not owner:
            return
        chunks = self.client.call_chunked(
            GET_GROUP_MEMBERS, "groupids", list(owner), retry_safe=True, adapter=GROUP_MEMBERS
        )
        for chunk in chunks:
            if chunk.error is not None and chunk.error.errorcode == MISSING_RECORD:
                chunk = self._find_phantom_groups(chunk, owner)
            if chunk.error is not None:
                reason = _reason(f"members of {len(chunk.items)} groups", chunk.error)
                owner[chunk.items[0]].incomplete.append(reason)
                continue
            for answer in cast(list[GroupMembers], chunk.result):
                if answer.groupid in owner:
                    owner[answer.groupid].group_members[answer.groupid] = answer.userids
                    owner[answer.groupid].wanted_ids.update(answer.userids)
            for group_id in chunk.items:
                if group_id in owner[group_id].phantoms:
                    continue
                if group_id not in owner[group_id].group_members:
                    owner[group_id].incomplete.append(
                        f"members of group id {group_id} missing from the answer"
                    )

    def _find_phantom_groups(
        self, chunk: ChunkResult, owner: dict[int, _CourseRead]
    ) -> ChunkResult:
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
                raw = self.call(GET_GROUP_MEMBERS, {"groupids": [group_id]}, GROUP_MEMBERS)
            except LmsError as exc:
                if exc.errorcode != MISSING_RECORD:
                    return ChunkResult(chunk.items, error=exc)
                owner[group_id].phantoms.add(group_id)  # reported by the plan (gone_groups)
                continue
            found += cast(list[GroupMembers], raw)
        return ChunkResult(chunk.items, result=found)


_Row = TypeVar("_Row")


def _read_pages(
    client: SiteClient,
    page: Callable[[int], list[_Row] | LmsError],
    size: int,
    wave: int,
    what: str,
    *,
    key: Callable[[_Row], int],
) -> tuple[list[_Row], str | None]:
    """Fetch pages, ``wave`` in flight at all times, until one comes back short.

    A new page is asked for as soon as one is answered (not wave by wave), so the
    site serves ``wave`` calls to the end. The answer has no total count, so up to
    ``wave`` empty pages past the end are fetched; each costs one call's fixed time.
    """
    results: dict[int, list[_Row] | LmsError] = {}
    end: int | None = None  # the first short or failed page
    # One page more than the calls in flight: it waits for the client's next free slot
    # while an answer is decoded, so the site is never left with a stream idle.
    tasks = wave + 1 if wave > 1 else 1
    with ThreadPoolExecutor(tasks, thread_name_prefix="plutoctl-page") as pool:
        pending = {pool.submit(page, index): index for index in range(tasks)}
        following = len(pending)
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                index = pending.pop(future)
                result = results[index] = future.result()  # fatal errors propagate
                if isinstance(result, LmsError) or len(result) < size:
                    end = index if end is None else min(end, index)
            while end is None and len(pending) < tasks:
                pending[pool.submit(page, following)] = following
                following += 1
    rows: list[_Row] = []
    for index in range(cast(int, end) + 1):
        result = results[index]
        if isinstance(result, LmsError):
            return _unique(rows, key), _reason(f"{what}, page {index + 1}", result)
        rows.extend(result)
    return _unique(rows, key), None


def _unique(rows: list[_Row], key: Callable[[_Row], int]) -> list[_Row]:
    keys = list(map(key, rows))
    if len(set(keys)) == len(keys):
        return rows  # no repeats, the usual case: the loop below keeps every row in order
    seen: dict[int, _Row] = {}
    for row in rows:
        seen.setdefault(key(row), row)
    return list(seen.values())
