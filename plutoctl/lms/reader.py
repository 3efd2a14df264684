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
what they found: the segments (``segments.py``), the courses (``courses.py``) and the
users (``users.py``: every user listed when rules need profiles, otherwise only those
the config and the members name, learnt by the cheapest call, ``resolve.py``). Each
part fills a record of ``found.py``; listings page through ``pages.py`` (``paging.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import cast

from plutoctl.heap import rare_collection
from plutoctl.lms.client import SiteClient
from plutoctl.lms.courses import CourseRead, CourseReads
from plutoctl.lms.found import Read, UserIndex, UsersRead
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
from plutoctl.lms.segments import SegmentReads, SegmentsRead
from plutoctl.lms.users import UserReads
from plutoctl.model import ExistingSite

log = logging.getLogger(__name__)


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
    user_reads = UserReads(client, scope, info.functions, info.site_id)
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
