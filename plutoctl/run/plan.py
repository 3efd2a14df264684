"""Plan every selected site: read existing, build desired, diff, check safety.

Each site is planned on its own (``plutoctl.run.sites``): what the run covers there
is computed once (``plutoctl.plan.scope``), read, and planned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from plutoctl.config import LoadedConfig
from plutoctl.config.inputs import input_digests
from plutoctl.lms.client import SiteClient
from plutoctl.lms.reader import ReadScope, read_site
from plutoctl.model import ExistingSite
from plutoctl.plan.acknowledge import unused_notices, with_config
from plutoctl.plan.build import plan_site
from plutoctl.plan.changes.kinds import WRITE_FUNCTIONS
from plutoctl.plan.changes.plans import Plan, PlanBasis
from plutoctl.plan.desired import build_desired
from plutoctl.plan.safety import Acknowledgements
from plutoctl.plan.scope import Selection, SiteScope, segments_for, selected_scope
from plutoctl.run.connect import Connection
from plutoctl.run.sites import SiteRun, run_sites, sites_to_run

# The roles apply can enrol with: Moodle's standard roles assignable in a course.

CREATED_AT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
"""ISO 8601 in UTC with a Z, as docs/plan-format.md shows it."""


@dataclass(frozen=True)
class RunOptions:
    """What ``plan`` and ``apply`` were asked for: sites and IDs, acknowledgements, how
    to connect."""

    selection: Selection = field(default_factory=Selection)
    acks: Acknowledgements = field(default_factory=Acknowledgements)
    config_acks: bool = True
    """Use the config's ``acknowledge:`` section (not in a drift run: --no-acknowledgements)."""
    connection: Connection = field(default_factory=Connection)


def read_existing(
    client: SiteClient, scope: SiteScope, *, extra_usernames: frozenset[str] = frozenset()
) -> ExistingSite:
    """Read what the plan for a site's scope needs from the site."""
    # Groups and enrolments of the courses in scope follow segments that --only may have
    # left out: their existing members are needed too (``read_segments``).
    needs = scope.needs
    read = ReadScope(
        segments=scope.read_segments,
        needs_all_users=needs.needs_all_users,
        standard_fields=needs.standard_fields,
        usernames=needs.usernames | extra_usernames,
        courses=frozenset(scope.courses),
        needs_custom_fields=scope.needs_custom_fields,
        segments_last=bool(scope.kept_by_site),
    )
    return read_site(client, read)


def known_ids(existing: ExistingSite) -> dict[int, str]:
    """Return the user ids a read learned (id → username), for later reads to reuse."""
    return {user.id: username for username, user in existing.users.items()}


def learned_ids(runs: Mapping[str, SiteRun]) -> dict[str, dict[int, str]]:
    """Return per site the user ids its planning read learned (``known_ids``)."""
    return {name: known_ids(run.existing) for name, run in runs.items() if run.existing}


def with_unmanaged_members(
    client: SiteClient, existing: ExistingSite, declared: frozenset[str]
) -> ExistingSite:
    """Add the members of segments the config does not declare, read in one more pass.

    ``unmanaged_segments: report`` counts them and ``delete`` must know them (a
    segment with members is deleted only when acknowledged), but the first read
    only covers the segments in play.
    """
    unread = frozenset(
        idnumber
        for idnumber, segment in existing.segments.items()
        if idnumber and segment.members is None and idnumber not in declared
    )
    if not unread:
        return existing
    extra = read_site(
        client,
        ReadScope(segments=unread, needs_custom_fields=False, known_users=known_ids(existing)),
    )
    read = {i: extra.segments[i] for i in unread if i in extra.segments}
    return replace(
        existing,
        segments={**existing.segments, **read},
        incomplete=existing.incomplete + extra.incomplete,
    )


def plan_one(client: SiteClient, loaded: LoadedConfig, site: str, options: RunOptions) -> SiteRun:
    """Read a site and plan it."""
    scope = selected_scope(loaded, site, options.selection)
    existing = read_existing(client, scope)
    policy = loaded.config.policy
    if options.selection.is_filtered:
        # A filtered run touches only what it names; never sweep unmanaged segments.
        policy = policy.model_copy(update={"unmanaged_segments": "ignore"})
    # The config's segments on this site: any other cohort here is unmanaged, one the
    # config sends to other sites only included (docs/config.md, "courses").
    on_site = frozenset(segments_for(loaded.config, site))
    if policy.unmanaged_segments != "ignore":
        existing = with_unmanaged_members(client, existing, on_site)
    desired = build_desired(loaded, site, existing, scope=scope)
    acks = with_config(options.acks, loaded.config) if options.config_acks else options.acks
    site_plan = plan_site(
        desired.desired,
        existing,
        policy=policy,
        acks=acks,
        max_input_vars=loaded.config.sites[site].max_input_vars,
        errors=desired.errors,
        notices=desired.notices,
        managed_scope=on_site - set(scope.segments),  # left out by --only/--except
        recheck_fields=scope.recheck_fields,
    )
    # A plan the token could not carry out is an error now, not a surprise at apply.
    client.require_functions({WRITE_FUNCTIONS[change.step] for change in site_plan.changes})
    return SiteRun(plan=site_plan, existing=existing)


def make_plan(
    loaded: LoadedConfig, options: RunOptions, meanwhile: Callable[[], object] | None = None
) -> tuple[Plan, dict[str, SiteRun]]:
    """Plan every selected site; return the plan and the per-site runs.

    ``meanwhile``: work for the calling thread while the sites are read.
    """
    names = sites_to_run(loaded, options.selection)
    runs = run_sites(
        loaded,
        names,
        options.connection,
        lambda client, name: plan_one(client, loaded, name, options),
        meanwhile=meanwhile,
    )
    plan = Plan(
        sites=tuple(run.plan for run in runs.values()),
        config_path=str(loaded.path),
        created_at=datetime.now(UTC).strftime(CREATED_AT_FORMAT),
        basis=PlanBasis(
            inputs=input_digests(loaded),
            allow_removals=tuple(sorted(options.acks.removals)),
            allow_delete=tuple(sorted(options.acks.deletes)),
            allow_move=tuple(sorted(options.acks.moves)),
            only=tuple(sorted(options.selection.only)),
            excluded=tuple(sorted(options.selection.excluded)),
        ),
    )
    # An entry may be for a site or an object the run leaves out (a CI matrix plans one
    # site a job): only a run of the whole config can say that it matches nothing.
    whole = set(names) == set(loaded.config.sites) and not options.selection.is_filtered
    if options.config_acks and whole:
        plan = unused_notices(loaded, plan)
    return plan, runs
