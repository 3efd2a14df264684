"""Check a saved plan against its config and a fresh read before any of it is applied.

A plan file is input, not truth: it may be old, hand-edited or made from another
config. ``apply PLAN`` therefore trusts nothing in it but the list of what to do:

1. ``check_saved_plan``: every change must still be admitted by the config's
   acknowledgements (``plutoctl.plan.acknowledge.recheck_saved``); every site must be
   one the config has; the config file and the CSV files it reads must be byte for
   byte those the plan was made from (``basis.inputs``); every change's object must
   carry a fingerprint.
2. ``reverify_scope`` then ``recompute``: re-read what the plan touches and everything
   its decisions depend on (``reverify_scope``), recompute the changes for those objects from the
   config and the fresh read, re-check safety with the plan's own acknowledgements
   and fresh counts, and return the recomputed changes only if they equal the saved
   ones. Anything else is refused as stale, naming the objects.

The recompute evaluates the config over the *known* users only: those the saved
changes name and those the config names. Their profiles are read again, so a
removal planned from a rule's input that has since changed (or changed back) no
longer matches; users outside that set are left out of both sides, so they cannot
make a change appear or disappear. Counts come from the fresh read, never the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from plutoctl.config import LoadedConfig
from plutoctl.config.inputs import CONFIG_KEY, input_digests
from plutoctl.config.schema import PolicyConfig
from plutoctl.errors import PlanError, StalePlanError, UnsafePlanError
from plutoctl.lms.reader import ReadScope
from plutoctl.model import ExistingCourse, ExistingSegment, ExistingSite
from plutoctl.plan.acknowledge import recheck_saved, with_config
from plutoctl.plan.changes.kinds import (
    Change,
    DeleteGroup,
    DeleteSegment,
    RemoveGroupMembers,
    RemoveSegmentMembers,
)
from plutoctl.plan.changes.plans import Plan, PlanBasis, Refusal, SitePlan
from plutoctl.plan.changes.subjects import subject, usernames_of
from plutoctl.plan.desired import build_desired
from plutoctl.plan.diff import diff_site, sort_changes
from plutoctl.plan.fingerprint import fingerprint_keys
from plutoctl.plan.safety import Acknowledgements, check_safety
from plutoctl.plan.scope import (
    Selection,
    SiteScope,
    bound_segments,
    courses_for,
    segments_for,
    site_scope,
)
from plutoctl.rules.conditions import STANDARD_PREFIX

REMAKE = "make the plan again: plutoctl plan -c CONFIG --out PLAN, then apply the new plan"


def check_saved_plan(loaded: LoadedConfig, plan: Plan) -> PlanBasis:
    """Refuse a plan with changes no acknowledgement admits now, made from other inputs,
    for unknown sites, or with unfingerprinted changes; return its checked basis."""
    recheck_saved(loaded, plan)
    known = set(loaded.config.sites)
    unknown = [site.site for site in plan.sites if site.site not in known]
    if unknown:
        raise PlanError(
            f"the plan is for site(s) {', '.join(map(repr, unknown))}, which {loaded.path} "
            "does not have",
            hint=f"apply it with the config it was made from (-c FILE); {REMAKE}",
        )
    if plan.basis is None:
        raise PlanError(
            "the plan does not record the config it was made from, so it cannot be checked",
            hint=REMAKE,
        )
    _check_inputs(loaded, plan.basis)
    for site in plan.sites:
        _check_fingerprinted(site)
    return plan.basis


def _check_inputs(loaded: LoadedConfig, basis: PlanBasis) -> None:
    saved, now = dict(basis.inputs), dict(input_digests(loaded))
    changed = sorted(key for key in saved.keys() | now.keys() if saved.get(key) != now.get(key))
    if changed:
        names = [str(loaded.path) if key == CONFIG_KEY else key for key in changed]
        raise PlanError(
            f"the plan was made from other inputs: changed since: {', '.join(names)}",
            hint=f"a saved plan is applied only with the exact config and CSV files it was "
            f"made from; {REMAKE}",
        )


def _check_fingerprinted(site: SitePlan) -> None:
    recorded = {key for key, _digest in site.fingerprints}
    for change in site.changes:
        missing = sorted(set(fingerprint_keys([change])) - recorded)
        if missing:
            raise PlanError(
                f"site {site.site!r}: the change to {subject(change)} has no fingerprint "
                f"({', '.join(missing)}): the plan cannot show the site is as it was",
                hint=REMAKE,
            )


@dataclass(frozen=True)
class Reread:
    """What to read again for one site's saved plan, and over which users to recompute."""

    read: ReadScope
    scope: SiteScope
    known_users: frozenset[str]


def reverify_scope(loaded: LoadedConfig, site: str, plan: SitePlan, basis: PlanBasis) -> Reread:
    """Return the cheapest read that decides every saved change again.

    Read: the segments and courses the changes touch, the segments bound to those
    courses (their members decide enrolments and groups), and the profiles of the
    users the changes name and the config names (rules and lists decide on them).
    Never every user of the site: users outside these cannot change the decision
    about the saved changes (see the module docstring).
    """
    config = loaded.config
    touched = {getattr(change, "course", None) for change in plan.changes}
    courses = tuple(name for name in courses_for(config, site) if name in touched)
    wanted = {name for kind, name in map(_object_of, plan.changes) if kind == "segment"}
    wanted |= set(bound_segments(config, courses))
    selection = Selection(only=frozenset(basis.only), excluded=frozenset(basis.excluded))
    in_run = {sid for sid in segments_for(config, site) if selection.includes(sid)}
    segments = tuple(sid for sid in config.segments if sid in wanted and sid in in_run)
    scope = site_scope(loaded, site, segments, courses)
    named = {user for change in plan.changes for user in usernames_of(change)}
    known = frozenset(named | scope.needs.usernames)
    read = ReadScope(
        segments=frozenset(wanted),
        standard_fields=scope.needs.standard_fields,
        usernames=known,
        courses=frozenset(courses),
        needs_custom_fields=scope.needs_custom_fields,
        segments_last=bool(scope.kept_by_site),
    )
    return Reread(read, scope, known)


def _object_of(change: Change) -> tuple[str, str]:
    """Return the object a change is about: a segment, a group, or a course's enrolments."""
    return (change.kind.target, subject(change))


def recompute(
    loaded: LoadedConfig, plan: SitePlan, basis: PlanBasis, fresh: ExistingSite, reread: Reread
) -> tuple[Change, ...]:
    """Return the saved changes as the config and the fresh read call for them now.

    Raise UnsafePlanError if the safety rules refuse any of them on the fresh read, and
    StalePlanError if they differ from the saved ones in any way.
    """
    site = plan.site
    known = _within(fresh, reread.known_users)
    desired = build_desired(
        _rule_fields_declared(loaded, reread.scope), site, known, scope=reread.scope
    )
    if desired.errors:
        raise StalePlanError(
            f"site {site!r}: the config cannot be planned on the site as it is now: "
            + "; ".join(error.message for error in desired.errors),
            hint=REMAKE,
        )
    policy = _policy(loaded.config.policy, basis)
    diff = diff_site(
        desired.desired,
        known,
        unmanaged=policy.unmanaged_segments,
        managed_scope=set(segments_for(loaded.config, site)) - set(reread.scope.segments),
    )
    counted = [_with_fresh_counts(change, fresh) for change in diff.changes]
    # The config's acknowledge: section is the one the plan was made with: the config's
    # digest is checked (check_saved_plan), and plutoctl.plan.acknowledge re-checks it.
    acks = with_config(
        Acknowledgements(
            frozenset(basis.allow_removals),
            frozenset(basis.allow_delete),
            frozenset(basis.allow_move),
        ),
        loaded.config,
    )
    safe = check_safety(counted, fresh, desired.desired, policy, acks)
    touched = {_object_of(change) for change in plan.changes}
    _refuse_unsafe(site, [r for r in safe.refused if _object_of(r.change) in touched])
    now = [change for change in safe.changes if _object_of(change) in touched]
    _refuse_different(site, plan.changes, now, fresh)
    return sort_changes(now)


def _rule_fields_declared(loaded: LoadedConfig, scope: SiteScope) -> LoadedConfig:
    """Return the config with every custom field the scope's rules use declared for its site.

    The plan's rule checks ran on a read of every user, and the config has not changed
    since; the recompute sees a few users, and a field none of them has filled in is
    no typo here. (Only the scope's rules are checked, so only their fields matter.)
    """
    config, site = loaded.config, scope.site
    custom = {name for name in scope.ruleset.fields if not name.startswith(STANDARD_PREFIX)}
    site_config = config.sites[site]
    declared = sorted(set(site_config.profile_fields) | custom)
    sites = {**config.sites, site: site_config.model_copy(update={"profile_fields": declared})}
    return replace(loaded, config=config.model_copy(update={"sites": sites}))


def _policy(policy: PolicyConfig, basis: PlanBasis) -> PolicyConfig:
    if basis.only or basis.excluded:
        # As when the plan was made: a filtered run never sweeps unmanaged segments.
        return policy.model_copy(update={"unmanaged_segments": "ignore"})
    return policy


def _within(existing: ExistingSite, users: frozenset[str]) -> ExistingSite:
    """Return the site as seen by ``users`` alone: members and enrolments among them.

    Rules then decide over these users only (``has_all_users``), and a member outside
    them is neither kept nor removed by the recompute: the saved plan never named them.
    """
    segments = {
        sid: replace(seg, members=None if seg.members is None else seg.members & users)
        for sid, seg in existing.segments.items()
    }
    courses = {name: _course_within(course, users) for name, course in existing.courses.items()}
    return replace(
        existing,
        segments=segments,
        courses=courses,
        users={name: user for name, user in existing.users.items() if name in users},
        has_all_users=True,
    )


def _course_within(course: ExistingCourse, users: frozenset[str]) -> ExistingCourse:
    groups = tuple(replace(g, members=g.members & users) for g in course.all_groups)
    enrolments = {u: roles for u, roles in course.enrolments.items() if u in users}
    return replace(course, all_groups=groups, enrolments=enrolments)


def _with_fresh_counts(change: Change, fresh: ExistingSite) -> Change:
    """Return the change with its member counts taken from the full fresh read."""
    match change:
        case RemoveSegmentMembers(idnumber=sid):
            return replace(change, existing_count=_segment_size(fresh.segments.get(sid)))
        case DeleteSegment(idnumber=sid):
            return replace(change, member_count=_segment_size(fresh.segments.get(sid)))
        case RemoveGroupMembers(course=course, idnumber=gid):
            return replace(change, existing_count=_group_size(fresh.courses, course, gid))
        case DeleteGroup(course=course, idnumber=gid):
            return replace(change, member_count=_group_size(fresh.courses, course, gid))
    return change


def _segment_size(segment: ExistingSegment | None) -> int:
    return len(segment.members or ()) if segment is not None else 0


def _group_size(courses: Mapping[str, ExistingCourse], course: str, gid: str) -> int:
    have = courses.get(course)
    group = have.groups.get(gid) if have is not None else None
    return len(group.members) if group is not None else 0


def _refuse_unsafe(site: str, refused: list[Refusal]) -> None:
    if refused:
        reasons = "; ".join(f"{r.reason} ({r.acknowledge})" for r in refused)
        raise UnsafePlanError(
            f"site {site!r}: on the site as it is now, the safety policy refuses: {reasons}",
            hint="the plan's acknowledgements do not cover this; make the plan again and "
            "acknowledge what you mean to allow",
        )


def _refuse_different(
    site: str, saved: Iterable[Change], now: Iterable[Change], fresh: ExistingSite
) -> None:
    before: dict[tuple[str, str], set[Change]] = {}
    after: dict[tuple[str, str], set[Change]] = {}
    for change in saved:
        before.setdefault(_object_of(change), set()).add(change)
    for change in now:
        after.setdefault(_object_of(change), set()).add(change)
    objects = before.keys() | after.keys()
    differ = sorted(obj for obj in objects if before.get(obj) != after.get(obj))
    if not differ:
        return
    why = ""
    if not fresh.is_complete:
        why = f" (the fresh read was incomplete: {'; '.join(fresh.incomplete)})"
    raise StalePlanError(
        f"site {site!r}: the plan is stale: its changes to "
        + ", ".join(f"{kind} {name}" for kind, name in differ)
        + f" are not what the config and the site call for now{why}",
        hint="the site, a user's profile or the plan file changed since the plan was made; "
        + REMAKE,
    )
