"""What one site's run covers, computed once per site and passed down.

A run covers, on each site, the segments and courses the config sends there that
``--only``/``--except`` leave in (``Selection``). The courses' groups and enrolments
name segments too: those the run does not cover are still built (their desired
members decide the groups and enrolments) but never changed, and are read. The rules
of every segment built are compiled once, here; from them follows what the read
must fetch (``ReadNeeds``).

Pure: reads nothing but the loaded config.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from plutoctl.config.loaded import LoadedConfig, usernames_of
from plutoctl.config.schema import Config, CourseConfig, SegmentConfig
from plutoctl.rules.conditions import STANDARD_PREFIX
from plutoctl.rules.rule_set import RuleSet


@dataclass(frozen=True)
class Selection:
    """What a run covers: ``--site``, ``--only`` and ``--except``."""

    sites: tuple[str, ...] = ()
    only: frozenset[str] = frozenset()
    excluded: frozenset[str] = frozenset()

    @property
    def is_filtered(self) -> bool:
        return bool(self.only or self.excluded)

    def includes(self, ident: str) -> bool:
        """Return whether a segment ID or course short name is in the run."""
        if self.only and ident not in self.only:
            return False
        return ident not in self.excluded


class ReadNeeds(NamedTuple):
    """What the reader must read from a site for a plan.

    ``standard_fields`` are standard user field names (without ``user.``) that rules
    test; ``usernames`` are every username the config names for the site.
    """

    needs_all_users: bool
    standard_fields: frozenset[str]
    usernames: frozenset[str]


@dataclass(frozen=True)
class SiteScope:
    """The segments and courses one site's run covers, and what planning them needs.

    ``segments`` and ``courses`` are in the run, in config order. ``bound`` are the
    segments of the site outside ``segments`` that the courses' groups and
    enrolments name: built, never changed. ``named_by_courses`` are all the segments
    the courses name, on the site or not (they are read: the site may have them).
    ``ruleset`` holds the rules of ``segments`` and ``bound``. ``kept_by_site`` are the
    segments the courses name whose members on the site decide who stays in their
    groups and courses (additive, membership not managed, bound, or not declared).
    """

    site: str
    segments: tuple[str, ...]
    courses: tuple[str, ...]
    bound: tuple[str, ...]
    named_by_courses: tuple[str, ...]
    ruleset: RuleSet
    needs: ReadNeeds
    kept_by_site: tuple[str, ...] = ()

    @property
    def built(self) -> tuple[str, ...]:
        """Return the segments whose desired state is built: those in the run, then bound."""
        return self.segments + self.bound

    @property
    def read_segments(self) -> frozenset[str]:
        """Return the segments to read: those in the run and every one the courses name."""
        return frozenset(self.segments) | frozenset(self.named_by_courses)

    @property
    def needs_custom_fields(self) -> bool:
        """Return whether some rule in scope reads a custom profile field."""
        return any(not name.startswith(STANDARD_PREFIX) for name in self.ruleset.fields)

    @property
    def recheck_fields(self) -> tuple[str, ...]:
        """Return the user fields a saved plan's freshness check lists (for the estimate)."""
        if self.needs_custom_fields:
            return ("id", "username", "customfields")
        return ("id", "username")


def segments_for(config: Config, site: str, scope: Collection[str] | None = None) -> list[str]:
    """Return the segment IDs that go to ``site`` and are in scope, in config order."""
    return _on_site(config, config.segments, site, scope)


def courses_for(config: Config, site: str, scope: Collection[str] | None = None) -> list[str]:
    """Return the course short names that go to ``site`` and are in scope, in config order."""
    return _on_site(config, config.courses, site, scope)


def _on_site(
    config: Config,
    items: Mapping[str, SegmentConfig | CourseConfig],
    site: str,
    scope: Collection[str] | None,
) -> list[str]:
    wanted = None if scope is None else frozenset(scope)  # a list would make this quadratic
    return [
        name
        for name, item in items.items()
        if site in config.sites_for(item.sites) and (wanted is None or name in wanted)
    ]


def bound_segments(config: Config, courses: Iterable[str]) -> list[str]:
    """Return the segment IDs the groups and enrolments of ``courses`` name, deduplicated."""
    found: dict[str, None] = {}
    for name in courses:
        course = config.courses[name]
        for group in course.groups.values():
            if group.segment:
                found[group.segment] = None
        for enrol in course.enrol:
            found[enrol.segment] = None
    return list(found)


def selected_scope(loaded: LoadedConfig, site: str, selection: Selection) -> SiteScope:
    """Return what a run with ``selection`` covers on ``site``."""
    config = loaded.config
    segments = [sid for sid in segments_for(config, site) if selection.includes(sid)]
    courses = [name for name in courses_for(config, site) if selection.includes(name)]
    return site_scope(loaded, site, segments, courses)


def site_scope(
    loaded: LoadedConfig,
    site: str,
    segments: Collection[str] | None = None,
    courses: Collection[str] | None = None,
) -> SiteScope:
    """Return the scope of ``site`` for these segments and courses (None: all on the site)."""
    config = loaded.config
    in_scope = segments_for(config, site, segments)
    on_site = set(segments_for(config, site))
    course_names = courses_for(config, site, courses)
    named = bound_segments(config, course_names)
    chosen = set(in_scope)
    bound = [sid for sid in named if sid in on_site and sid not in chosen]
    built = in_scope + bound
    ruleset = RuleSet.compile(
        {sid: config.segments[sid].rules for sid in built if config.segments[sid].rules}
    )
    return SiteScope(
        site=site,
        segments=tuple(in_scope),
        courses=tuple(course_names),
        bound=tuple(bound),
        named_by_courses=tuple(named),
        ruleset=ruleset,
        needs=_read_needs(loaded, built, ruleset),
        kept_by_site=tuple(sid for sid in named if _kept_by_site(config, sid, chosen)),
    )


def _kept_by_site(config: Config, sid: str, chosen: Collection[str]) -> bool:
    """Whether the site's members of ``sid`` decide who stays in its groups and courses
    (``plutoctl.plan.after.members_after``)."""
    seg = config.segments.get(sid)
    if seg is None or sid not in chosen:
        return True
    return seg.membership == "additive" or not seg.has_managed_membership


def required_fields(
    loaded: LoadedConfig,
    site: str,
    segments: Collection[str] | None = None,
    courses: Collection[str] | None = None,
) -> ReadNeeds:
    """Return what must be read from ``site`` to plan the segments and courses in scope."""
    return site_scope(loaded, site, segments, courses).needs


def _read_needs(loaded: LoadedConfig, built: list[str], ruleset: RuleSet) -> ReadNeeds:
    standard = frozenset(
        f[len(STANDARD_PREFIX) :] for f in ruleset.fields if f.startswith(STANDARD_PREFIX)
    )
    usernames: set[str] = set()
    for sid in built:
        seg = loaded.config.segments[sid]
        usernames.update(seg.members, seg.exclude)
        usernames.update(usernames_of(loaded.csv_members.get(sid, ())))
    return ReadNeeds(bool(ruleset.fields), standard, frozenset(usernames))
