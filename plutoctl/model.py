"""Desired and existing state: the values the pipeline passes between its stages.

*Desired* state comes from the config (plus rules evaluated against users), *existing*
state from a site. Both are frozen. Members are always usernames: plan never needs
user ids; apply maps usernames to ids through the users the reader found.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class User:
    """A user on a site, with the profile data rules may look at.

    ``standard`` holds standard fields by name (``department``, ``email``, …) as text,
    ``suspended`` included as ``"0"``/``"1"`` when it was read (``suspended`` is None
    when the site did not say: it is never assumed false); ``auth`` and ``lang``, which
    only a lookup by field gives, are absent when it was not answered. ``custom`` holds
    custom profile fields by shortname with their raw stored value; a field absent from
    ``custom`` is *not defined* for this user (Moodle omits empty fields on read).
    """

    id: int
    username: str
    suspended: bool | None = False
    standard: Mapping[str, str] = field(default_factory=dict)
    custom: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SegmentFields:
    """The fields of a segment that plutoctl manages (identity is ``idnumber``)."""

    name: str
    description: str = ""
    visible: bool = True


@dataclass(frozen=True, slots=True)
class ExistingSegment:
    """A segment (cohort) as read from a site.

    ``members`` is None when the reader did not read this segment's members (out of
    scope); otherwise the usernames of its members. ``is_in_category``: the segment
    lives in a course category's context, not the system's (an update moves it); None
    when that is not known (a token that cannot search cohorts by context).
    """

    id: int
    idnumber: str
    fields: SegmentFields
    members: frozenset[str] | None = None
    is_in_category: bool | None = False


@dataclass(frozen=True, slots=True)
class ExistingGroup:
    """A course group as read from a site."""

    id: int
    idnumber: str
    name: str
    description: str = ""
    members: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ExistingCourse:
    """A course with its groups and enrolments, as read from a site.

    ``groups`` holds every group of the course (also those without an idnumber, keyed
    by ``""`` only in ``all_groups``) so that name clashes can be seen before a create.
    ``enrolments`` maps each enrolled username to its role shortnames. ``gone_groups``
    names groups the site lists but that do not exist (a rolled-back create Moodle
    still lists from its cache); they are not in ``all_groups``.
    """

    id: int
    shortname: str
    all_groups: tuple[ExistingGroup, ...] = ()
    enrolments: Mapping[str, frozenset[str]] = field(default_factory=dict)
    gone_groups: tuple[str, ...] = ()

    @property
    def groups(self) -> dict[str, ExistingGroup]:
        """Return the groups that have an idnumber, keyed by it."""
        return {g.idnumber: g for g in self.all_groups if g.idnumber}


@dataclass(frozen=True)
class ExistingSite:
    """Everything read from one site that the plan needs.

    ``users`` maps usernames to users: every user on the site when ``has_all_users``
    (rules in scope), otherwise only the users in play (named in the config, or found
    as members). ``incomplete`` lists, in words, every read that failed or was cut
    short; the plan makes no removals or deletes on a site where it is not empty.
    ``field_types`` maps custom profile field shortnames to their type (``menu``,
    ``text``, ``textarea``, ``checkbox``) as far as the users read reveal them.
    """

    site: str
    segments: Mapping[str, ExistingSegment]
    users: Mapping[str, User]
    courses: Mapping[str, ExistingCourse]
    field_types: Mapping[str, str] = field(default_factory=dict)
    has_all_users: bool = False
    incomplete: tuple[str, ...] = ()
    release: str = ""
    unread_courses: Mapping[str, str] = field(default_factory=dict)
    """Courses in scope whose course record or groups could not be read, with why."""
    role_ids: Mapping[str, int] = field(default_factory=dict)
    """The site's id of each role seen on the enrolments read (shortname → id)."""
    unidentified: tuple[str, ...] = ()
    """The names of the cohorts without a segment ID (idnumber): no config can name them."""
    shared_ids: tuple[str, ...] = ()
    """Segment IDs more than one cohort holds (only the first is read: see ``incomplete``)."""

    @property
    def is_complete(self) -> bool:
        return not self.incomplete


@dataclass(frozen=True, slots=True)
class DesiredSegment:
    """A segment as the config wants it on one site.

    ``members`` is None when the config does not manage its membership.
    """

    idnumber: str
    fields: SegmentFields
    members: frozenset[str] | None = None
    is_additive: bool = False
    is_protected: bool = False


@dataclass(frozen=True, slots=True)
class DesiredGroup:
    """A course group as the config wants it; ``segment`` binds its members."""

    idnumber: str
    name: str
    description: str = ""
    segment: str | None = None


@dataclass(frozen=True, slots=True)
class DesiredEnrolment:
    """Enrol the members of ``segment`` with ``role``; unenrol leavers only if asked."""

    segment: str
    role: str = "student"
    allow_unenrol: bool = False


@dataclass(frozen=True, slots=True)
class DesiredCourse:
    shortname: str
    groups: Mapping[str, DesiredGroup] = field(default_factory=dict)
    enrolments: tuple[DesiredEnrolment, ...] = ()


@dataclass(frozen=True)
class DesiredSite:
    """Everything the config wants on one site.

    ``bound`` holds the segments a run leaves out (``--only COURSE``, ``--except
    SEGMENT``) that its courses bind to groups or enrol entries: the diff reads their
    desired members for those courses, and changes nothing of the segments themselves.
    """

    site: str
    segments: Mapping[str, DesiredSegment]
    courses: Mapping[str, DesiredCourse]
    bound: Mapping[str, DesiredSegment] = field(default_factory=dict)
    protected: frozenset[str] = frozenset()
    """The IDs of the segments the config protects, for whichever sites: one moved to
    another site is still not deleted from this one unless acknowledged."""
