"""Check what apply did: re-read what it touched and say what still differs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from plutoctl.apply.report import ApplyReport
from plutoctl.errors import LmsError
from plutoctl.lms.client import SiteClient
from plutoctl.lms.reader import ReadScope, read_site
from plutoctl.plan.applied import differences
from plutoctl.plan.changes.kinds import Change, Step
from plutoctl.plan.changes.plans import SitePlan
from plutoctl.plan.changes.subjects import course_of, items_of, subject, usernames_of


def verify_site(
    client: SiteClient,
    site_plan: SitePlan,
    report: ApplyReport,
    *,
    known: Mapping[int, str] | None = None,
    known_courses: Mapping[str, int] | None = None,
) -> tuple[str, ...]:
    """Re-read what apply touched and return a line for everything that still differs.

    Only what the report says was done is checked: failures and skips are already
    listed. A read that fails yields one line saying verification was not possible.
    ``known`` (user id → username, learned before apply) spares looking users up again,
    and ``known_courses`` (short name → id) the courses: their groups and enrolments
    are what is checked.
    """
    not_done = _not_done(report)
    checks = [c for c in site_plan.changes if items_of(c) and not _fully_not_done(c, not_done)]
    if not checks:
        return ()
    try:
        scope = replace(
            scope_of_changes(checks),
            known_users=dict(known or {}),
            known_courses=dict(known_courses or {}),
        )
        existing = read_site(client, scope)
    except LmsError as exc:
        return (f"could not re-read the site to verify: {exc.message}",)
    if not existing.is_complete:
        # What was not read would show as not done: say that it could not be checked.
        reasons = "; ".join(existing.incomplete)
        return (f"could not verify: the site's re-read was incomplete ({reasons})",)
    notes: list[str] = []
    for change in checks:
        done = [i for i in items_of(change) if (change.step, subject(change), i) not in not_done]
        notes += differences(change, done, existing)
    return tuple(notes)


def finds_differences(notes: Sequence[str]) -> bool:
    """Whether ``verify_site``'s notes name a difference from what the report says was
    done, rather than only that it could not check (its ``could not …`` lines)."""
    return any(not note.startswith("could not ") for note in notes)


def _not_done(report: ApplyReport) -> set[tuple[Step, str, str]]:
    return {
        (r.step, r.subject, item)
        for r in (*report.failed, *report.skipped)
        for item in (r.items or (r.subject,))
    }


def _fully_not_done(change: Change, not_done: set[tuple[Step, str, str]]) -> bool:
    return all((change.step, subject(change), i) in not_done for i in items_of(change))


def scope_of_changes(changes: Iterable[Change]) -> ReadScope:
    """Return the read scope that covers every object and user the changes touch."""
    segments: set[str] = set()
    courses: set[str] = set()
    usernames: set[str] = set()
    for change in changes:
        course = course_of(change)
        if course is None:
            segments.add(subject(change))
        else:
            courses.add(course)
        usernames.update(usernames_of(change))
    # Ids and names only: no profile is needed to check or apply these changes.
    return ReadScope(
        segments=frozenset(segments),
        usernames=frozenset(usernames),
        courses=frozenset(courses),
        needs_custom_fields=False,
    )
