"""Desired state for one site, from the config and the users read from it (docs/config.md).

Desired members = ``members`` ∪ CSV rows for the segment ∪ rule matches − ``exclude``.
A username named in ``members`` or a CSV file that is not on the site is an error for
that site, cited with its source position; one named only in ``exclude`` is a
warning. Suspended users stay members: Moodle allows suspended segment members.

Pure: reads nothing but the values it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from plutoctl.config.loaded import LoadedConfig, SourcedName, usernames_of
from plutoctl.config.schema import SegmentConfig
from plutoctl.model import (
    DesiredCourse,
    DesiredEnrolment,
    DesiredGroup,
    DesiredSegment,
    DesiredSite,
    ExistingSite,
    SegmentFields,
    User,
)
from plutoctl.plan.changes.plans import Notice
from plutoctl.plan.scope import SiteScope, site_scope
from plutoctl.rules.conditions import ACCOUNT_FIELDS, is_unread
from plutoctl.rules.rule_set import RuleSet


@dataclass(frozen=True)
class SegmentSources:
    """Why users are (or are not) desired members of one segment.

    ``named`` maps each username named by ``members`` or a CSV row to those entries;
    ``excluded`` maps each username in ``exclude`` to its entries; ``rule_matches``
    are the users the rules select (before exclusion).
    """

    is_managed: bool
    named: Mapping[str, tuple[SourcedName, ...]] = field(default_factory=dict)
    excluded: Mapping[str, tuple[SourcedName, ...]] = field(default_factory=dict)
    rule_matches: frozenset[str] = frozenset()


@dataclass(frozen=True)
class MembershipSources:
    """Per segment, where its desired members came from; the rules, to explain them."""

    segments: Mapping[str, SegmentSources] = field(default_factory=dict)
    ruleset: RuleSet = field(default_factory=RuleSet)


@dataclass(frozen=True)
class DesiredResult:
    """The desired state of one site, plus what went wrong building it.

    ``bound_segments`` are segments outside the segment scope (``--only``) whose
    desired members in-scope courses need for their groups and enrolments
    (``DesiredSite.bound``); the diff reads them but does not change them.
    """

    desired: DesiredSite
    errors: tuple[Notice, ...] = ()
    notices: tuple[Notice, ...] = ()
    sources: MembershipSources = field(default_factory=MembershipSources)

    @property
    def bound_segments(self) -> Mapping[str, DesiredSegment]:
        return self.desired.bound


def build_desired(
    loaded: LoadedConfig,
    site: str,
    existing: ExistingSite,
    *,
    segments: Collection[str] | None = None,
    courses: Collection[str] | None = None,
    scope: SiteScope | None = None,
) -> DesiredResult:
    """Return the desired state of ``site`` for the segments and courses in scope.

    ``scope`` is the site's scope when the caller has it already (a run computes it
    once, to read the site); without it, it is computed from ``segments`` and
    ``courses`` (None: all the config sends to the site).
    """
    if scope is None:
        scope = site_scope(loaded, site, segments, courses)
    builder = _Builder(loaded, site, existing)
    matches = builder.evaluate_rules(scope.ruleset)
    desired_segments = {sid: builder.segment(sid, matches.get(sid)) for sid in scope.segments}
    bound = {sid: builder.segment(sid, matches.get(sid)) for sid in scope.bound}
    known = set(desired_segments) | set(bound) | set(existing.segments)
    desired_courses = {}
    for name in scope.courses:
        course = builder.course(name, known)
        if course is not None:
            desired_courses[name] = course
    return DesiredResult(
        desired=DesiredSite(
            site,
            desired_segments,
            desired_courses,
            bound,
            protected=frozenset(
                sid for sid, seg in loaded.config.segments.items() if seg.protected
            ),
        ),
        errors=tuple(builder.errors),
        notices=tuple(builder.notices),
        sources=MembershipSources(dict(builder.sources), builder.ruleset),
    )


class _Builder:
    """Collects desired objects, sources and notices for one site while it builds them."""

    def __init__(self, loaded: LoadedConfig, site: str, existing: ExistingSite) -> None:
        self.loaded = loaded
        self.site = site
        self.existing = existing
        self.errors: list[Notice] = []
        self.notices: list[Notice] = []
        self.sources: dict[str, SegmentSources] = {}
        self.ruleset = RuleSet()

    def error(self, message: str, where: object = "", usernames: Sequence[str] = ()) -> None:
        self.errors.append(Notice("error", message, str(where), tuple(usernames)))

    def warn(self, message: str, where: object = "", usernames: Sequence[str] = ()) -> None:
        self.notices.append(Notice("warning", message, str(where), tuple(usernames)))

    def evaluate_rules(self, ruleset: RuleSet) -> dict[str, frozenset[str]]:
        """Evaluate the rules in scope; report what the site cannot evaluate."""
        self.ruleset = ruleset
        if not self.ruleset.rules:
            return {}
        users, types = self.existing.users, self.existing.field_types
        if not self.existing.has_all_users:
            why = "; ".join(self.existing.incomplete)
            self.error(
                f"rules need every user of site {self.site!r}, but only some users were read"
                + (f" ({why})" if why else "")
            )
        else:
            self._unread_account_fields(users)
        declared = self.loaded.config.sites[self.site].profile_fields
        # Checked against every user only: of some users, "no user has a value for
        # profile field X" would blame the config for the failed read.
        checked = self.ruleset.check(users, types, declared) if self.existing.has_all_users else ()
        for problem in checked:
            where = self.loaded.position_of(
                "segments", problem.segment, "rules", problem.rule_index
            )
            # Planned as written, such a rule would match the wrong users (a negated
            # match on a field nobody has matches everyone): an error for this site.
            self.error(
                f"segment {problem.segment} rule {problem.rule_index + 1} on site "
                f"{self.site!r}: {problem.message}",
                where,
            )
        for name, value, twin in self.ruleset.case_twins(users, types):
            self.warn(
                f"menu field {name} holds {value!r} and {twin!r} on site {self.site!r}: rules "
                "take them for one value (spaces trimmed, case folded), where Pluto's automation "
                "tells them apart"
            )
        return self.ruleset.evaluate(users, types)

    def _unread_account_fields(self, users: Mapping[str, User]) -> None:
        """Report each account field the rules use that was not read for every user.

        Taken as empty, an unread ``user.suspended`` or ``user.auth`` would put a
        suspended user in a ``notexact 1`` segment: the site's rules cannot be planned.
        """
        for name in sorted(self.ruleset.fields & ACCOUNT_FIELDS):
            unread = sum(1 for user in users.values() if is_unread(user, name))
            if unread:
                self.error(
                    f"rules use {name}, but it could not be read for {unread} user(s) of "
                    f"site {self.site!r}: the rules are not planned; plan again"
                )

    def segment(self, sid: str, rule_matches: frozenset[str] | None) -> DesiredSegment:
        """Return the desired segment ``sid``, recording its sources and unknown users."""
        seg = self.loaded.config.segments[sid]
        fields = SegmentFields(seg.name, seg.description, seg.visible)
        members: frozenset[str] | None = None
        if seg.has_managed_membership:
            members = self._members(sid, seg, rule_matches or frozenset())
        else:
            self.sources[sid] = SegmentSources(is_managed=False)
        return DesiredSegment(
            idnumber=sid,
            fields=fields,
            members=members,
            is_additive=seg.membership == "additive",
            is_protected=seg.protected,
        )

    def _members(self, sid: str, seg: SegmentConfig, matches: frozenset[str]) -> frozenset[str]:
        from_csv = self.loaded.csv_members.get(sid, ())
        csv_names = usernames_of(from_csv)
        excluded = self.loaded.named_excludes(sid)
        users = self.existing.users
        # Names first, entries with positions only for the users the site lacks: lists
        # run to 100,000s of names, and their entries are read only to explain a user.
        # Who is missing is looked up in the segment's few listed users, not in every
        # user of the site again (one lookup a name in the large dict, not two).
        listed = users.keys() & [*seg.members, *csv_names]
        missing = [
            SourcedName(name, self.loaded.position_of("segments", sid, "members", i), "members")
            for i, name in enumerate(seg.members)
            if name not in listed
        ] + [from_csv[i] for i, name in enumerate(csv_names) if name not in listed]
        if self._unknown_policy(seg) == "warn":
            if missing:
                self.warn(
                    unknown_users_notice(self.site, sid, missing),
                    missing[0].position,
                    [entry.username for entry in missing],
                )
        else:
            for i, entry in enumerate(missing[:MAX_NAMED_UNKNOWN]):
                advice = "" if i or self.existing.incomplete else UNKNOWN_ADVICE
                self.error(self._unknown(entry, sid) + advice, entry.position, [entry.username])
            rest = missing[MAX_NAMED_UNKNOWN:]
            if rest:
                self.error(
                    f"and {len(rest):,} more of the users segment {sid} names, as above, "
                    f"not listed (the next at {rest[0].position})",
                    rest[0].position,
                )
        for entry in excluded:
            if entry.username not in users:
                self.warn(self._unknown(entry, sid), entry.position, [entry.username])
        if seg.membership == "additive":
            self._warn_kept_excludes(sid, excluded)
        named = _NamedLater(lambda: _by_username((*self.loaded.named_members(sid), *from_csv)))
        self.sources[sid] = SegmentSources(True, named, _by_username(excluded), matches)
        return frozenset((listed | matches) - {e.username for e in excluded})

    def _warn_kept_excludes(self, sid: str, excluded: Sequence[SourcedName]) -> None:
        """Say that an additive segment keeps the excluded users it already has: additive
        never removes, so ``exclude`` there only stops a user being added."""
        have = self.existing.segments.get(sid)
        current = have.members if have is not None else None
        kept = [entry for entry in excluded if current and entry.username in current]
        if kept:
            names = ", ".join(repr(entry.username) for entry in kept)
            message = (
                f"segment {sid} keeps {names}: excluded, but already a member, and membership "
                "additive never removes; remove them on the site, or make membership exact"
            )
            self.warn(message, kept[0].position, [entry.username for entry in kept])

    def _unknown_policy(self, seg: SegmentConfig) -> str:
        return seg.unknown_users or self.loaded.config.defaults.unknown_users

    def _unknown(self, entry: SourcedName, sid: str) -> str:
        where = f"on site {self.site!r} ({entry.source} of {sid})"
        if self.existing.incomplete:
            # Not found because a read failed (an HTML page, a timeout): not unknown.
            reasons = "; ".join(self.existing.incomplete[:2])
            more = len(self.existing.incomplete) - 2
            reasons += f"; and {more} more" if more > 0 else ""
            return f"user {entry.username!r} could not be looked up {where}: {reasons}"
        return f"unknown user {entry.username!r} {where}"

    def course(self, name: str, segments: set[str]) -> DesiredCourse | None:
        """Return the desired course, or None (with an error) when the site lacks it."""
        where = self.loaded.position_of("courses", name)
        if name in self.existing.unread_courses:
            reason = self.existing.unread_courses[name]
            self.warn(
                f"course {name!r} could not be read ({reason}): nothing planned for it", where
            )
            return None
        if name not in self.existing.courses:
            self.error(f"course {name!r} does not exist on site {self.site!r}", where)
            return None
        for gone in self.existing.courses[name].gone_groups:
            self.warn(
                f"group {gone!r} of course {name!r} is listed by site {self.site!r} but does "
                "not exist (a creation the site rolled back; Moodle keeps listing it from its "
                "cache): it is treated as missing; if creating it fails, purge the site's "
                "caches (Site administration > Development > Purge caches)",
                where,
            )
        course = self.loaded.config.courses[name]
        groups = {}
        for gid, group in course.groups.items():
            segment = group.segment
            if segment and not self._is_bound(segment, segments, ("courses", name, "groups", gid)):
                segment = None  # the group is kept, its membership left alone here
            groups[gid] = DesiredGroup(gid, group.name, group.description, segment)
        enrolments = []
        for i, enrol in enumerate(course.enrol):
            if self._is_bound(enrol.segment, segments, ("courses", name, "enrol", i)):
                enrolments.append(DesiredEnrolment(enrol.segment, enrol.role, enrol.unenrol))
        return DesiredCourse(name, groups, tuple(enrolments))

    def _is_bound(self, sid: str, segments: set[str], key: tuple[str | int, ...]) -> bool:
        """Return whether a group or enrol entry is bound to ``sid`` on this site.

        A segment the config puts on other sites only is skipped here, with a warning
        (as ``validate`` says): a cohort of the same ID on this site is not it. One
        neither configured for the site nor on it is an error.
        """
        where = self.loaded.position_of(*key, "segment")
        what = "/".join(map(str, key[1:]))
        config = self.loaded.config
        segment, course = config.segments.get(sid), config.courses[str(key[1])]
        if segment is not None and self._on_other_sites_only(segment.sites, course.sites):
            self.warn(
                f"{what}: segment {sid!r} is not on site {self.site!r}, so this binding is "
                "skipped there",
                where,
            )
            return False
        if sid not in segments:
            self.error(
                f"segment {sid!r} is not configured for site {self.site!r} and does not "
                f"exist there ({what})",
                where,
            )
            return False
        return True

    def _on_other_sites_only(
        self, segment_sites: list[str] | None, course_sites: list[str] | None
    ) -> bool:
        """Whether a bound segment is on some of the course's sites, but not this one."""
        on = set(self.loaded.config.sites_for(segment_sites))
        return self.site not in on and bool(on & set(self.loaded.config.sites_for(course_sites)))


MAX_NAMED_UNKNOWN = 20
"""The users a segment names that the site lacks, listed one by one; the rest are
counted (a members file of another site's users lacks them by the 100,000)."""
UNKNOWN_ADVICE = (
    " (check the spelling; for a list that names people before their accounts exist, "
    "set unknown_users: warn on the segment or in defaults)"
)
"""Said with a segment's first unknown user."""


def unknown_users_notice(site: str, sid: str, missing: list[SourcedName]) -> str:
    """Say which named users the site does not have, and where each was named."""
    shown = missing[:MAX_NAMED_UNKNOWN]
    listed = ", ".join(f"{e.username!r} ({e.source}, {e.position})" for e in shown)
    if len(missing) > len(shown):
        listed += f", and {len(missing) - len(shown):,} more"
    count = f"{len(missing):,} user{'s' if len(missing) != 1 else ''}"
    return f"segment {sid}: {count} not on site {site!r}, left out (unknown_users: warn): {listed}"


class _NamedLater(Mapping[str, tuple[SourcedName, ...]]):
    """``SegmentSources.named``, built when first read: only explaining a user reads it,
    and a plan of segments naming 500,000 users would build it for nothing."""

    def __init__(self, build: Callable[[], dict[str, tuple[SourcedName, ...]]]) -> None:
        self._build: Callable[[], dict[str, tuple[SourcedName, ...]]] | None = build
        self._built: dict[str, tuple[SourcedName, ...]] = {}

    def _entries(self) -> dict[str, tuple[SourcedName, ...]]:
        if self._build is not None:
            self._built, self._build = self._build(), None
        return self._built

    def __getitem__(self, username: str) -> tuple[SourcedName, ...]:
        return self._entries()[username]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries())

    def __len__(self) -> int:
        return len(self._entries())

    def __repr__(self) -> str:
        return repr(self._entries())


def _by_username(entries: Iterable[SourcedName]) -> dict[str, tuple[SourcedName, ...]]:
    found: dict[str, list[SourcedName]] = {}
    for entry in entries:
        found.setdefault(entry.username, []).append(entry)
    return {name: tuple(e) for name, e in found.items()}
