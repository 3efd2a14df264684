"""Read a site's existing state: segments, users and courses, as far as the scope needs.

Designed for what a live Moodle costs (docs/lms.md): every call has a fixed cost of
tens of milliseconds and the server serves 2–4 calls at once, so the reader makes few
calls, reads lists in bulk (many ids per call, chunked to ``max_input_vars``) and runs
independent reads concurrently. Users are read in full, in pages, only when rules
need their profiles.

A read that fails part-way leaves a reason in ``ExistingSite.incomplete`` so that the
plan makes no removals; failures that leave nothing usable (token refused, site down,
functions missing, the segment list unreadable) raise.

``read_site`` runs the three parts side by side (or the segments last) and assembles
what they found: the segments (``segments.py``), the courses (``courses.py``) and,
here, the users: every user listed when rules need profiles, otherwise only those the
config and the members name, learnt by the cheapest call (``resolve.py``). Each part
fills a record of ``found.py``; listings page through ``pages.py`` (``paging.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, cast

import msgspec

from plutoctl.errors import AccessDeniedError, LmsError, PermissionDeniedError
from plutoctl.heap import rare_collection
from plutoctl.lms.answers import (
    USERS,
    USERS_ANSWER,
    UserRow,
)
from plutoctl.lms.client import SiteClient
from plutoctl.lms.courses import CourseRead, CourseReads
from plutoctl.lms.found import ACCOUNT_FIELDS, Read, UserIndex, UsersRead, is_kept, reason
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
    list_key,
)
from plutoctl.lms.pages import enrolled_pages
from plutoctl.lms.resolve import listing_bound
from plutoctl.lms.responses import validate_answer
from plutoctl.lms.segments import SegmentReads, SegmentsRead
from plutoctl.model import ExistingSite

log = logging.getLogger(__name__)

RECHECK_LOOKUPS = 20
"""How many unanswered lookups one call asks again (far below any max_input_vars)."""


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
    never looked up again. ``known_courses``: the ids of courses learned earlier in
    the run (short name → id): their groups and enrolments are read, the course is
    not looked up again.
    """

    segments: frozenset[str] = frozenset()
    needs_all_users: bool = False
    standard_fields: frozenset[str] = frozenset()
    usernames: frozenset[str] = frozenset()
    courses: frozenset[str] = frozenset()
    page_size: int = 1000
    needs_custom_fields: bool = True
    known_users: Mapping[int, str] = field(default_factory=dict, compare=False, hash=False)
    known_courses: Mapping[str, int] = field(default_factory=dict, compare=False, hash=False)
    segments_last: bool = False
    """Read the segments after the courses, not beside them (``SiteScope.kept_by_site``)."""


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


@rare_collection()  # records, names and members by the 100,000: see plutoctl.heap
def read_site(client: SiteClient, scope: ReadScope) -> ExistingSite:
    """Read the existing state of the client's site that ``scope`` needs."""
    info = client.site_info()
    client.require_functions(read_functions(scope, info.functions))
    user_reads = _UserReads(client, scope, info.functions, info.site_id)
    course_reads = CourseReads(client)
    # Side by side, or the segments last: then a user added to a segment while the site is
    # read, and put in its course and group by then (cohort sync), is in it as read too.
    parts: list[Callable[[], object]] = [
        user_reads.read_users,
        lambda: course_reads.read_courses(scope.courses, known=scope.known_courses),
        lambda: SegmentReads(client, info.functions).read_segments(scope.segments),
    ]
    together = parts[:2] if scope.segments_last else parts
    done = client.map_concurrent(lambda part: part(), together)
    done += [part() for part in parts[len(together) :]]
    segments_read = cast(SegmentsRead, done[2])
    users_read = cast(UsersRead, done[0])
    courses_read = cast(dict[str, CourseRead], done[1])
    # The user listing comes first: where reads overlap, its records carry the profiles.
    reads: list[Read] = [users_read, segments_read, *courses_read.values()]
    users = UserIndex.merge(reads, scope.standard_fields)
    if scope.needs_all_users:
        user_reads.resolve_ids(users, reads)
    else:
        user_reads.learn_users(users, reads)
    user_reads.read_account_fields(users)
    segments = segments_read.assemble_segments(users)
    courses = {
        name: read.assemble_course(users)
        for name, read in courses_read.items()
        if read.course and not read.failure
    }
    unread = {name: read.failure for name, read in courses_read.items() if read.failure}
    incomplete = [why for read in reads for why in read.incomplete] + users.incomplete
    has_all = scope.needs_all_users and users_read.is_listing_complete
    field_types = users.field_types
    return ExistingSite(
        site=client.site,
        segments=segments,
        users=users.take_users(),
        courses={name: course for name, course in courses.items() if course is not None},
        field_types=field_types,
        has_all_users=has_all,
        incomplete=tuple(incomplete),
        release=info.release,
        unread_courses=unread,
        role_ids=dict(course_reads.role_ids),
        unidentified=tuple(segments_read.unidentified),
        shared_ids=tuple(segments_read.shared_ids),
    )


# --- the reads ---------------------------------------------------------------------------


class _UserReads:
    """The reads of one site's users; each returns a ``Read`` and raises only when fatal."""

    def __init__(
        self, client: SiteClient, scope: ReadScope, functions: frozenset[str], site_id: int
    ) -> None:
        self.client = client
        self.scope = scope
        self.functions = functions
        self.site_id = site_id
        self.site = client.site

    def read_users(self) -> UsersRead:
        """List every user if rules need them; otherwise named users are learned later.

        Where the listing failed part-way, the named users are looked up by field.
        """
        read = UsersRead()
        if not self.scope.needs_all_users:
            return read
        self._list_all_users(read)
        if read.is_listing_complete:
            # Every user is listed: the named ones need no second look (on a large site
            # the sets of named and listed users cost about 0.2 s to build).
            return read
        named = set(self.scope.usernames) - {u.username for u in read.users.values()}
        if named:
            read.users.update(self._users_by_field("username", sorted(named), read))
        return read

    def _list_all_users(self, read: UsersRead) -> None:
        if ENROLLED_USERS in self.functions:
            try:
                records, failure = self._listing(self._user_fields(), self.client.parallelism)
            except (AccessDeniedError, PermissionDeniedError):
                if GET_USERS not in self.functions:
                    raise
                log.info(
                    "%s: listing users on the site course refused; using %s", self.site, GET_USERS
                )
            else:
                read.users.update((r.id, r) for r in records if is_kept(r))
                read.is_listing_complete = failure is None
                if failure:
                    read.incomplete.append(failure)
                return
        raw = self.client.read(GET_USERS, {"criteria": [{"key": "email", "value": "%"}]})
        answer = validate_answer(USERS_ANSWER, raw, site=self.site, function=GET_USERS)
        read.users.update((r.id, r) for r in answer.users if is_kept(r))
        read.is_listing_complete = True

    def _user_fields(self) -> str:
        return ",".join(self._listing_fields())

    def _listing_fields(self) -> tuple[str, ...]:
        # Every field asked for is paid on every user: only what rules read.
        # The account fields are left out: core_enrol_get_enrolled_users never returns
        # them (Moodle 4.5), yet asking for them costs on every user. See
        # read_account_fields.
        fields = ["id", "username"] + (["customfields"] if self.scope.needs_custom_fields else [])
        fields += sorted(set(self.scope.standard_fields) - {*fields, *ACCOUNT_FIELDS})
        return tuple(fields)

    def _listing(self, userfields: str, wave: int) -> tuple[list[UserRow], str | None]:
        """List every user of the site course with ``userfields``, ``wave`` pages at a time."""
        return enrolled_pages(
            self.client,
            self.site_id,
            userfields,
            USERS,
            size=self.scope.page_size,
            wave=wave,
            key=attrgetter("id"),
            what="the site's users",
        )

    def _users_by_field(self, key: str, values: list[Any], read: Read) -> dict[int, UserRow]:
        found: dict[int, UserRow] = {}
        chunks = self.client.call_chunked(
            USERS_BY_FIELD,
            list_key(USERS_BY_FIELD),
            values,
            params={"field": key},
            retry_safe=True,
            adapter=USERS,
        )
        answered: set[Any] = set()
        for chunk in chunks:
            if chunk.error is not None:
                read.incomplete.append(reason(f"looking up {len(chunk.items)} users", chunk.error))
                continue
            for r in cast(list[UserRow], chunk.result):
                answered.add(getattr(r, key, None))
                if is_kept(r):
                    found[r.id] = r
                else:
                    read.left_alone.add(r.id)
        # A site whose max_input_vars is below the config's drops the values past it and
        # answers for the rest: what went unanswered is asked again, a few at a time,
        # before those users are taken not to exist.
        asked = {v for chunk in chunks if chunk.error is None for v in chunk.items}
        unanswered = [v for v in values if v in asked and v not in answered]
        for start in range(0, len(unanswered), RECHECK_LOOKUPS):
            group = unanswered[start : start + RECHECK_LOOKUPS]
            try:
                rows = self.client.read(
                    USERS_BY_FIELD, {"field": key, "values": group}, adapter=USERS
                )
            except LmsError as exc:
                read.incomplete.append(reason(f"looking up {len(group)} users", exc))
                continue
            for r in cast(list[UserRow], rows):
                if is_kept(r):
                    found[r.id] = r
                else:
                    read.left_alone.add(r.id)
        return found

    def read_account_fields(self, users: UserIndex) -> None:
        """Learn the account fields rules use (``suspended``, ``auth``, ``lang``), and only then.

        No listing gives them: core_enrol_get_enrolled_users never returns them, whatever
        ``userfields`` asks (Moodle 4.5). core_user_get_users_by_field does, at about
        3 ms a user (docs/lms.md, "Account fields" and "What calls cost"), so it is
        asked for the users no read gave them for. Users it does not answer for stay
        unknown, and the read is marked incomplete: a rule never sees an unknown value
        as an empty one.
        """
        wanted = [name for name in ACCOUNT_FIELDS if name in self.scope.standard_fields]
        if not wanted:
            return
        unknown = sorted(
            i for i, r in users.records.items() if any(getattr(r, f) is None for f in wanted)
        )
        if not unknown:
            return
        read = Read()
        found = self._users_by_field("id", unknown, read)
        for user_id, record in found.items():
            known = {f: getattr(record, f) for f in wanted if getattr(record, f) is not None}
            if user_id in users.records and known:
                users.records[user_id] = msgspec.structs.replace(users.records[user_id], **known)
        users.incomplete.extend(read.incomplete)
        still = [i for i in unknown if any(getattr(users.records[i], f) is None for f in wanted)]
        if still and not read.incomplete:
            users.incomplete.append(
                f"the {'/'.join(wanted)} of {len(still)} user(s) could not be read"
            )

    def learn_users(self, users: UserIndex, reads: list[Read]) -> None:
        """Name every member id and find every named user the reads have not, cheapest first.

        What the run learned earlier (``known_users``) is not asked again, where no
        profile is needed. The rest is looked up by field, or, past the break-even
        (about one user in ten of the site's), learned by listing every user with
        ``id,username`` and the profile fields the scope needs: never both.
        """
        fields = self._listing_fields()
        needs_profiles = fields != ("id", "username")
        known = {} if needs_profiles else self.scope.known_users
        ids = users.unknown_ids(reads)
        users.add(UserRow(id=i, username=known[i]) for i in sorted(ids & known.keys()))
        ids -= known.keys()
        # Named users need their profiles where the scope needs any: a user seen only
        # in a course's enrolments (a name, no profile) is learned again.
        thin = users.thin if needs_profiles else set()
        seen = {name for user_id, name in users.usernames.items() if user_id not in thin}
        names = set(self.scope.usernames) - seen
        by_name = {username: user_id for user_id, username in known.items()}
        users.add(UserRow(id=by_name[n], username=n) for n in sorted(names & by_name.keys()))
        names -= by_name.keys()
        asked = len(ids) + len(names)
        if not asked:
            return
        read = Read()
        can_list = ENROLLED_USERS in self.functions
        bound = listing_bound(self.client, self.site_id, asked, fields) if can_list else None
        if bound is not None:
            # No more pages in flight than the site can fill: there are no ids past ``bound``.
            pages = bound // self.scope.page_size + 1
            try:
                listed, failure = self._listing(
                    ",".join(fields), min(self.client.parallelism, pages)
                )
            except (AccessDeniedError, PermissionDeniedError):
                log.info("%s: listing users refused; looking %d up by field", self.site, asked)
            else:
                users.add(record for record in listed if is_kept(record))
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
        users.left_alone |= read.left_alone

    def resolve_ids(self, users: UserIndex, reads: list[Read]) -> None:
        """Look up, in one call, every user id a read found that no read has fully read.

        Members no read has named, and, when rules need profiles, users seen only by
        name in a course's enrolments: a user the site-wide listing missed is
        *unknown*, never a user with an empty profile (rules would drop them). One the
        lookup cannot return either leaves the read incomplete, so nothing is removed.
        """
        wanted = users.unknown_ids(reads)
        if self.scope.needs_all_users:
            wanted |= users.thin
        if not wanted:
            return
        read = Read()
        users.add(self._users_by_field("id", sorted(wanted), read).values())
        users.incomplete.extend(read.incomplete)
        users.left_alone |= read.left_alone
        if self.scope.needs_all_users and users.thin:
            unknown = sorted(users.thin)
            shown = ", ".join(map(str, unknown[:5])) + ("…" if len(unknown) > 5 else "")
            users.incomplete.append(
                f"the profiles of {len(unknown)} user(s) seen in course enrolments could "
                f"not be read: the user listing missed them and the lookup by id did not "
                f"return them (user ids {shown})"
            )

    # courses
