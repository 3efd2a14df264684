"""Run the pipeline for every site: connect, read existing, build desired, plan.

This is where the world meets the pure core: ``open_site`` turns a site's config
into a connected client (starting the embedded sandbox for ``sandbox:`` URLs), and
``make_plan`` runs ``read → desired → diff → safety`` for each site independently,
a bounded number of sites at a time. One failing site does not stop the others: its
plan carries the error instead.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from plutoctl.apply.execute import apply_site
from plutoctl.apply.report import ApplyReport, ProgressEvent
from plutoctl.apply.verify import scope_of_changes, verify_site
from plutoctl.config import LoadedConfig
from plutoctl.config.inputs import input_digests
from plutoctl.errors import (
    ConfigError,
    PlanError,
    PlutoError,
    SecretError,
    StalePlanError,
    UsageError,
)
from plutoctl.lms.client import RetryPolicy, SiteClient
from plutoctl.lms.reader import ReadScope, read_site
from plutoctl.model import ExistingSite
from plutoctl.plan.acknowledge import unused_notices, with_config
from plutoctl.plan.applied import is_already_applied
from plutoctl.plan.build import plan_site
from plutoctl.plan.changes import (
    WRITE_FUNCTIONS,
    Notice,
    Plan,
    PlanBasis,
    SitePlan,
)
from plutoctl.plan.desired import (
    DesiredResult,
    bound_segments,
    build_desired,
    reads_custom_fields,
    required_fields,
)
from plutoctl.plan.fingerprint import fingerprints
from plutoctl.plan.safety import Acknowledgements
from plutoctl.reverify import recompute, reverify_scope

log = logging.getLogger(__name__)

# The roles apply can enrol with: Moodle's standard roles assignable in a course.
ENROL_ROLES = frozenset({"manager", "editingteacher", "teacher", "student"})

CREATED_AT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
"""ISO 8601 in UTC with a Z, as docs/plan-format.md shows it."""

SITE_WORKERS = 4
MAX_PROBLEMS_SHOWN = 10


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


@dataclass(frozen=True)
class RunOptions:
    selection: Selection = Selection()
    acks: Acknowledgements = field(default_factory=Acknowledgements)
    config_acks: bool = True
    """Use the config's ``acknowledge:`` section (not in a drift run: --no-acknowledgements)."""
    parallelism: int = 3
    timeout: float = 120.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass(frozen=True)
class SiteRun:
    """Everything one site's planning produced, kept for apply and explain."""

    plan: SitePlan
    existing: ExistingSite | None = None
    desired: DesiredResult | None = None
    error: PlutoError | None = None


def sites_to_run(loaded: LoadedConfig, selection: Selection) -> list[str]:
    """Return the sites this run covers, refusing unknown ``--site`` names."""
    known = list(loaded.config.sites)
    unknown = [s for s in selection.sites if s not in known]
    if unknown:
        raise UsageError(
            f"unknown site(s): {', '.join(unknown)}",
            hint=f"sites in {loaded.path}: {', '.join(known)}",
        )
    named = set(selection.only | selection.excluded)
    declared = set(loaded.config.segments) | set(loaded.config.courses)
    if named - declared:
        raise UsageError(
            f"--only/--except name(s) not in the config: {', '.join(sorted(named - declared))}",
            hint="name segment IDs or course short names declared in the config",
        )
    return [s for s in known if not selection.sites or s in selection.sites]


def scope_for(loaded: LoadedConfig, site: str, selection: Selection) -> tuple[list[str], list[str]]:
    """Return the segment IDs and course short names that go to ``site`` in this run."""
    config = loaded.config
    segments = [
        sid
        for sid, seg in config.segments.items()
        if site in config.sites_for(seg.sites) and selection.includes(sid)
    ]
    courses = [
        short
        for short, course in config.courses.items()
        if site in config.sites_for(course.sites) and selection.includes(short)
    ]
    return segments, courses


def resolve_token(name: str, loaded: LoadedConfig) -> str:
    """Return a site's token from its ``${VAR}`` reference, or say what is missing."""
    site = loaded.config.sites[name]
    variable = site.token_variable
    if variable is None:
        raise SecretError(
            f"site {name!r} has no token",
            hint=f"add `token: ${{PLUTO_TOKEN_{name.upper()}}}` to sites.{name} in {loaded.path}",
        )
    value = os.environ.get(variable, "")
    if not value:
        raise SecretError(
            f"site {name!r}: environment variable {variable} is not set",
            hint=f"export {variable}=<the site's web-service token> (Site admin > Server > "
            "Web services > Manage tokens)",
        )
    return value


@contextmanager
def open_site(name: str, loaded: LoadedConfig, options: RunOptions) -> Iterator[SiteClient]:
    """Connect to a site; for a ``sandbox:`` URL, start the embedded sandbox first."""
    site = loaded.config.sites[name]
    with ExitStack() as stack:
        if site.is_sandbox:
            from plutoctl.sandbox import open_embedded

            db_path = loaded.resolve(site.url.removeprefix("sandbox:"))
            db_path.parent.mkdir(parents=True, exist_ok=True)
            seed = loaded.resolve(site.seed) if site.seed else None
            sandbox = stack.enter_context(
                open_embedded(db_path, seed_csv=seed, max_input_vars=site.max_input_vars)
            )
            url, token = sandbox.url, sandbox.token
        else:
            url, token = site.url.rstrip("/"), resolve_token(name, loaded)
        client = stack.enter_context(
            SiteClient(
                site=name,
                url=url,
                token=token,
                max_input_vars=site.max_input_vars,
                timeout=(10.0, options.timeout),
                retry=options.retry,
                parallelism=options.parallelism,
            )
        )
        yield client


def read_existing(
    client: SiteClient,
    loaded: LoadedConfig,
    site: str,
    segments: list[str],
    courses: list[str],
    *,
    extra_usernames: frozenset[str] = frozenset(),
) -> ExistingSite:
    """Read what the plan for these segments and courses needs from the site."""
    needs_all_users, standard_fields, usernames = required_fields(
        loaded, site, segments, courses=courses
    )
    # Groups and enrolments of the courses in scope follow segments that --only may have
    # left out: their existing members are needed too.
    bound = bound_segments(loaded.config, courses)
    scope = ReadScope(
        segments=frozenset(segments) | frozenset(bound),
        needs_all_users=needs_all_users,
        standard_fields=standard_fields,
        usernames=usernames | extra_usernames,
        courses=frozenset(courses),
        needs_custom_fields=reads_custom_fields(loaded, site, segments, courses),
    )
    return read_site(client, scope)


def known_ids(existing: ExistingSite) -> dict[int, str]:
    """Return the user ids a read learned (id → username), for later reads to reuse."""
    return {user.id: username for username, user in existing.users.items()}


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
    segments, courses = scope_for(loaded, site, options.selection)
    existing = read_existing(client, loaded, site, segments, courses)
    policy = loaded.config.policy
    if options.selection.is_filtered:
        # A filtered run touches only what it names; never sweep unmanaged segments.
        policy = policy.model_copy(update={"unmanaged_segments": "ignore"})
    if policy.unmanaged_segments != "ignore":
        existing = with_unmanaged_members(client, existing, frozenset(loaded.config.segments))
    desired = build_desired(
        loaded, site, existing, segments=segments, courses=courses, roles=ENROL_ROLES
    )
    acks = with_config(options.acks, loaded.config) if options.config_acks else options.acks
    site_plan = plan_site(
        desired.desired,
        existing,
        policy=policy,
        acks=acks,
        max_input_vars=loaded.config.sites[site].max_input_vars,
        errors=desired.errors,
        notices=desired.notices,
        managed_scope=frozenset(loaded.config.segments) - set(segments),
        recheck_fields=recheck_fields(loaded, site, segments, courses),
    )
    # A plan the token could not carry out is an error now, not a surprise at apply.
    client.require_functions({WRITE_FUNCTIONS[change.step] for change in site_plan.changes})
    return SiteRun(plan=site_plan, existing=existing, desired=desired)


def recheck_fields(
    loaded: LoadedConfig, site: str, segments: list[str], courses: list[str]
) -> tuple[str, ...]:
    """Return the user fields a saved plan's freshness check lists (for the estimate)."""
    if reads_custom_fields(loaded, site, segments, courses):
        return ("id", "username", "customfields")
    return ("id", "username")


SiteTask = Callable[[SiteClient, str], SiteRun]


@contextmanager
def rare_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector while sites are read and planned.

    A large site's read holds millions of small objects (records, usernames). With
    the default thresholds the collector walks all of them again and again while
    they are allocated: 12 of 21 s of CPU reading a 100,000-user, 200-course site
    (benchmarks/plan_scale.py). Reference counting frees almost everything a run
    drops; the few cycles wait for the collector to run again after the block.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def run_sites(
    loaded: LoadedConfig,
    options: RunOptions,
    task: SiteTask,
    stop: threading.Event | None = None,
) -> dict[str, SiteRun]:
    """Run ``task`` for each selected site in parallel; a failing site becomes an error plan.

    With ``stop``, a first Ctrl-C sets it and waits for the tasks to wind down (they
    check it); a second one, or any Ctrl-C without ``stop``, is raised at once.
    """
    names = sites_to_run(loaded, options.selection)

    def run(name: str) -> SiteRun:
        try:
            with open_site(name, loaded, options) as client:
                return task(client, name)
        except PlutoError as exc:
            # One site's failure must not stop the others: it becomes that site's result.
            log.debug("site %s failed", name, exc_info=True)
            notice = Notice("error", _describe(exc))
            return SiteRun(plan=SitePlan(site=name, errors=(notice,)), error=exc)

    workers = max(1, min(SITE_WORKERS, len(names)))
    with rare_collection(), ThreadPoolExecutor(workers, thread_name_prefix="site") as pool:
        futures = [pool.submit(run, name) for name in names]
        try:
            results = [future.result() for future in futures]
        except KeyboardInterrupt:
            if stop is None:
                raise
            stop.set()
            log.debug("interrupted: sending no more calls, waiting for those in flight")
            results = [future.result() for future in futures]
    return dict(zip(names, results, strict=True))


def _describe(exc: PlutoError) -> str:
    """One line for a site's failure; a seed file's problems are listed, not counted."""
    if isinstance(exc, ConfigError):
        shown = [f"{p.position}: {p.message}" for p in exc.problems if not p.is_warning]
        more = len(shown) - MAX_PROBLEMS_SHOWN
        text = "; ".join(shown[:MAX_PROBLEMS_SHOWN]) + (f"; and {more} more" if more > 0 else "")
        return f"the sandbox seed file could not be loaded: {text}"
    hint = f" (hint: {exc.hint})" if exc.hint else ""
    return exc.message + hint


def make_plan(loaded: LoadedConfig, options: RunOptions) -> tuple[Plan, dict[str, SiteRun]]:
    """Plan every selected site; return the plan and the per-site runs."""
    runs = run_sites(loaded, options, lambda client, name: plan_one(client, loaded, name, options))
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
    if options.config_acks:
        plan = unused_notices(loaded, plan)
    return plan, runs


def check_fresh(site_plan: SitePlan, existing: ExistingSite) -> None:
    """Refuse a saved plan whose touched objects changed since it was made."""
    saved = dict(site_plan.fingerprints)
    now = dict(fingerprints(existing, list(saved)))
    changed = sorted(key for key, digest in saved.items() if now.get(key) != digest)
    if changed:
        raise StalePlanError(
            f"site {site_plan.site!r}: the plan is stale; changed since it was made: "
            + ", ".join(changed),
            hint="someone changed the site meanwhile; check what changed, then run "
            "`plutoctl apply` again (for a saved plan: `plutoctl plan --out PLAN`, then "
            "apply the new plan)",
        )


@dataclass(frozen=True)
class SiteOutcome:
    """What applying one site's plan came to."""

    site: str
    report: ApplyReport | None = None
    error: PlutoError | None = None
    verify_notes: tuple[str, ...] = ()
    is_already_applied: bool = False

    @property
    def is_success(self) -> bool:
        return self.error is None and (self.report is None or self.report.is_success)


def _was_applied_before(site_plan: SitePlan, existing: ExistingSite) -> bool:
    """Return True when the plan is stale only because it was applied already; raise
    StalePlanError when it is stale otherwise."""
    try:
        check_fresh(site_plan, existing)
    except StalePlanError:
        if not is_already_applied(site_plan.changes, existing):
            raise
        return True  # changed by this very plan: nothing is left to do
    return False


def _errored(site_plan: SitePlan) -> PlanError:
    """Say why a site is not applied: the first of its plan's errors."""
    first, count = site_plan.errors[0].message, len(site_plan.errors)
    more = f" (and {count - 1} more)" if count > 1 else ""
    return PlanError(f"its plan has errors: {first}{more}")


def apply_plan(
    loaded: LoadedConfig,
    plan: Plan,
    options: RunOptions,
    progress: Callable[[ProgressEvent], None] | None = None,
    stop: threading.Event | None = None,
    saved: PlanBasis | None = None,
    known: Mapping[str, Mapping[int, str]] | None = None,
) -> dict[str, SiteOutcome]:
    """Apply each site's plan: re-read, refuse if stale, execute, verify.

    ``known`` holds per site the user ids planning learned (``known_ids``): the
    re-read does not look them up again.

    Sites run independently; a site whose plan has errors, or whose state changed
    since the plan was made, is not touched and reports why. A saved plan (``saved``,
    its checked basis) is also recomputed from the config and the fresh read, and
    applied only if it comes out the same (``plutoctl.reverify``). A Ctrl-C sets
    ``stop`` (when given): no further call is sent, and what was not sent is reported
    skipped.
    """
    stop = stop if stop is not None else threading.Event()
    by_site = {p.site: p for p in plan.sites}
    names = [n for n in sites_to_run(loaded, options.selection) if n in by_site]
    selection = replace(options.selection, sites=tuple(names))
    outcomes: dict[str, SiteOutcome] = {}
    for name in names:
        site_plan = by_site[name]
        if site_plan.errors:
            outcomes[name] = SiteOutcome(name, error=_errored(site_plan))
        elif not site_plan.changes:
            outcomes[name] = SiteOutcome(name)

    def task(client: SiteClient, name: str) -> SiteRun:
        site_plan = by_site[name]
        if saved is None:
            # Ids planning learned in this run are not looked up again.
            learned = dict((known or {}).get(name, {}))
            scope = replace(scope_of_changes(site_plan.changes), known_users=learned)
            existing = read_site(client, scope)
        else:
            reread = reverify_scope(loaded, name, site_plan, saved)
            existing = read_site(client, reread.scope)
        if _was_applied_before(site_plan, existing):
            outcomes[name] = SiteOutcome(name, is_already_applied=True)
            return SiteRun(plan=site_plan, existing=existing)
        if saved is not None:
            changes = recompute(loaded, site_plan, saved, existing, reread)
            site_plan = replace(site_plan, changes=changes)
        report = apply_site(client, site_plan, existing, progress=progress, stop=stop)
        # The ids the freshness read learned serve the verification: none is asked twice.
        learned = known_ids(existing)
        notes = () if stop.is_set() else verify_site(client, site_plan, report, known=learned)
        outcomes[name] = SiteOutcome(name, report=report, verify_notes=tuple(notes))
        return SiteRun(plan=site_plan, existing=existing)

    pending = [n for n in names if n not in outcomes]
    if pending:
        runs = run_sites(
            loaded,
            replace(options, selection=replace(selection, sites=tuple(pending))),
            task,
            stop,
        )
        for name, run in runs.items():
            if name not in outcomes:  # the task failed before recording an outcome
                outcomes[name] = SiteOutcome(name, error=run.error or PlutoError("failed"))
    return {name: outcomes[name] for name in names}
