"""Apply every selected site's plan: re-read, refuse if stale, execute, verify."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from plutoctl.apply.execute import apply_site
from plutoctl.apply.report import ApplyReport, ProgressEvent
from plutoctl.apply.verify import finds_differences, scope_of_changes, verify_site
from plutoctl.config import LoadedConfig
from plutoctl.errors import LmsError, PlanError, PlutoError, StalePlanError
from plutoctl.lms.client import SiteClient
from plutoctl.lms.reader import read_site
from plutoctl.model import ExistingSite
from plutoctl.plan.applied import is_already_applied
from plutoctl.plan.changes.plans import Plan, PlanBasis, SitePlan
from plutoctl.plan.fingerprint import fingerprints
from plutoctl.plan.saved import check_seal, sealed_content
from plutoctl.run.plan import RunOptions, known_ids
from plutoctl.run.reverify import recompute, reverify_scope
from plutoctl.run.sites import SiteRun, run_sites, sites_to_run


@dataclass(frozen=True)
class SiteOutcome:
    """What applying one site's plan came to."""

    site: str
    report: ApplyReport | None = None
    error: PlutoError | None = None
    verify_notes: tuple[str, ...] = ()
    is_already_applied: bool = False
    is_read_in_part: bool = False
    """The plan read the site only in part: what it could not read was not planned."""

    @property
    def is_success(self) -> bool:
        """Whether everything was applied, and verification found it so on the site.

        Not for a site read in part: the config asks for what was not planned there."""
        applied = self.error is None and (self.report is None or self.report.is_success)
        return applied and not self.is_unverified and not self.is_read_in_part

    @property
    def is_unverified(self) -> bool:
        """Whether verification found the site differing from what the report says."""
        return finds_differences(self.verify_notes)


def check_fresh(site_plan: SitePlan, existing: ExistingSite) -> None:
    """Refuse a saved plan whose touched objects changed since it was made."""
    saved = dict(site_plan.fingerprints)
    now = dict(fingerprints(existing, list(saved)))
    changed = sorted(key for key, digest in saved.items() if now.get(key) != digest)
    if not changed:
        return
    if existing.incomplete:
        # What could not be read now differs from what the plan read: a failed read,
        # not (as far as can be told) someone's change.
        raise StalePlanError(
            f"the read before applying failed in part ({existing.incomplete[0]}), so "
            f"whether the plan still holds for {', '.join(changed)} cannot be told",
            hint="apply again once the site answers every read",
        )
    if site_plan.is_read_incomplete:
        # What the plan could not read differs from the same things read now: a failed
        # read, not (as far as can be told) someone's change.
        raise StalePlanError(
            "the plan's read of the site was incomplete, and what it could not read differs now: "
            + ", ".join(changed),
            hint="plan again once the site answers every read (then apply that plan)",
        )
    raise StalePlanError(
        "the plan is stale; changed since it was made: " + ", ".join(changed),
        hint="the site changed since the plan was made (by someone, or by a partial apply "
        "of this plan); check what changed, then run `plutoctl apply` again (for a saved "
        "plan: `plutoctl plan --out PLAN`, then apply the new plan)",
    )


def _was_applied_before(site_plan: SitePlan, existing: ExistingSite) -> bool:
    """Return True when the plan is stale only because it was applied already; raise
    StalePlanError when it is stale otherwise.

    Never from a read that failed in part: what was not read reads as empty (a
    course's group members, its enrolments), which every removal from it matches.
    """
    try:
        check_fresh(site_plan, existing)
    except StalePlanError:
        if existing.incomplete or not is_already_applied(site_plan.changes, existing):
            raise
        return True  # changed by this very plan: nothing is left to do
    return False


def _errored(site_plan: SitePlan) -> PlanError:
    """Say why a site is not applied: the first of its plan's errors."""
    first, count = site_plan.errors[0].message, len(site_plan.errors)
    more = f" (and {count - 1} more)" if count > 1 else ""
    return PlanError(f"its plan has errors: {first}{more}")


def outcomes_not_applied(
    loaded: LoadedConfig, plan: Plan, options: RunOptions, reason: str
) -> dict[str, SiteOutcome]:
    """What each site of a run came to when nothing was applied, for ``--report``.

    A site whose plan has errors gives them; one with changes or refusals gives
    ``reason``; one with neither had nothing to do.
    """
    by_site = {p.site: p for p in plan.sites}
    outcomes = {}
    for name in [n for n in sites_to_run(loaded, options.selection) if n in by_site]:
        site_plan = by_site[name]
        if site_plan.errors:
            outcomes[name] = SiteOutcome(name, error=_errored(site_plan))
        elif site_plan.changes or site_plan.refused:
            outcomes[name] = SiteOutcome(name, error=PlutoError(reason))
        else:
            outcomes[name] = SiteOutcome(name, is_read_in_part=site_plan.is_read_incomplete)
    return outcomes


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
    applied only if it comes out the same (``plutoctl.run.reverify``). A Ctrl-C sets
    ``stop`` (when given): no further call is sent, and what was not sent is reported
    skipped.
    """
    stop = stop if stop is not None else threading.Event()
    by_site = {p.site: p for p in plan.sites}
    names = [n for n in sites_to_run(loaded, options.selection) if n in by_site]
    outcomes: dict[str, SiteOutcome] = {}
    for name in names:
        site_plan = by_site[name]
        if site_plan.errors:
            outcomes[name] = SiteOutcome(name, error=_errored(site_plan))
        elif not site_plan.changes:
            outcomes[name] = SiteOutcome(name, is_read_in_part=site_plan.is_read_incomplete)

    sealed = sealed_content(plan) if saved is not None else b""

    def task(client: SiteClient, name: str) -> SiteRun:
        site_plan = by_site[name]
        if saved is not None:
            check_seal(plan, name, client.seal, sealed)  # before anything else of the site
        reread = reverify_scope(loaded, name, site_plan, saved) if saved is not None else None
        if reread is not None:
            scope = reread.read
        else:
            # Ids planning learned in this run are not looked up again.
            learned = dict((known or {}).get(name, {}))
            scope = replace(scope_of_changes(site_plan.changes), known_users=learned)
        try:
            with client.reading_until(stop):  # a Ctrl-C ends the re-read: nothing written
                existing = read_site(client, scope)
        except LmsError:
            if not stop.is_set():
                raise
        if stop.is_set():
            why = "interrupted before anything was written"
            outcomes[name] = SiteOutcome(name, error=PlutoError(why))
            return SiteRun(plan=site_plan)
        if _was_applied_before(site_plan, existing):
            outcomes[name] = SiteOutcome(name, is_already_applied=True)
            return SiteRun(plan=site_plan, existing=existing)
        if saved is not None and reread is not None:
            changes = recompute(loaded, site_plan, saved, existing, reread)
            site_plan = replace(site_plan, changes=changes)
        report = apply_site(client, site_plan, existing, progress=progress, stop=stop)
        # The ids the freshness read learned serve the verification: none is asked twice.
        learned = known_ids(existing)
        courses = {shortname: course.id for shortname, course in existing.courses.items()}
        notes = (
            ()
            if stop.is_set()
            else verify_site(client, site_plan, report, known=learned, known_courses=courses)
        )
        outcomes[name] = SiteOutcome(
            name,
            report=report,
            verify_notes=tuple(notes),
            is_read_in_part=site_plan.is_read_incomplete,
        )
        return SiteRun(plan=site_plan, existing=existing)

    pending = [n for n in names if n not in outcomes]
    if pending:
        runs = run_sites(loaded, pending, options.connection, task, stop)
        for name, run in runs.items():
            if name not in outcomes:  # the task failed before recording an outcome
                outcomes[name] = SiteOutcome(name, error=run.error or PlutoError("failed"))
    return {name: outcomes[name] for name in names}
