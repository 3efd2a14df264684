"""Assemble one site's plan: diff → safety → fingerprints → API-call estimate.

``plan_site`` is the pure heart of ``plutoctl plan``: given desired and existing
state it returns the ``SitePlan`` the renderers print and apply runs.
``estimate_calls`` counts the write calls apply will make, batched exactly as the
client batches them (``plutoctl.lms.functions``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable

from plutoctl.config.schema import PolicyConfig
from plutoctl.lms.functions import (
    BEST_STREAMS,
    ENROLLED_USERS,
    GET_COHORTS,
    SITE_INFO,
    USERS_BY_FIELD,
    balanced_calls,
    calls_seconds,
    cost_of,
    listing_seconds,
)
from plutoctl.model import DesiredSite, ExistingSite
from plutoctl.plan.changes.kinds import Change
from plutoctl.plan.changes.plans import INCOMPLETE_READ, Notice, SitePlan
from plutoctl.plan.changes.subjects import item_count, usernames_of
from plutoctl.plan.diff import diff_site
from plutoctl.plan.fingerprint import fingerprint_keys, fingerprints
from plutoctl.plan.safety import Acknowledgements, check_safety


def plan_site(
    desired: DesiredSite,
    existing: ExistingSite,
    *,
    policy: PolicyConfig,
    acks: Acknowledgements,
    max_input_vars: int,
    errors: tuple[Notice, ...] = (),
    notices: tuple[Notice, ...] = (),
    managed_scope: Collection[str] | None = None,
    recheck_fields: tuple[str, ...] = ("id", "username"),
) -> SitePlan:
    """Return the plan for one site; a site with ``errors`` gets no changes."""
    if errors:
        return SitePlan(site=existing.site, errors=tuple(errors), notices=tuple(notices))
    diff = diff_site(
        desired, existing, unmanaged=policy.unmanaged_segments, managed_scope=managed_scope
    )
    safe = check_safety(diff.changes, existing, desired, policy, acks)
    touched = (*safe.changes, *(refusal.change for refusal in safe.refused))
    return SitePlan(
        site=existing.site,
        changes=safe.changes,
        refused=safe.refused,
        held_back=diff.held_back + safe.held_back,
        notices=tuple(notices) + diff.notices + _incomplete_read(existing),
        api_calls=estimate_calls(safe.changes, max_input_vars),
        fingerprints=fingerprints(existing, fingerprint_keys(touched)),
        acknowledged=safe.acknowledged,
        estimated_seconds=estimate_seconds(
            safe.changes,
            max_input_vars,
            len(existing.users) if existing.has_all_users else None,
            fields=recheck_fields,
        ),
    )


def _incomplete_read(existing: ExistingSite) -> tuple[Notice, ...]:
    """Say that part of the site was not read, and why: whatever depends on it is unknown."""
    if existing.is_complete:
        return ()
    reasons = "; ".join(existing.incomplete)
    message = (
        f"the read of site {existing.site!r} was incomplete ({reasons}): removals are held "
        "back, and the plan may miss changes that depend on what was not read; plan again "
        "once the site answers"
    )
    return (Notice("warning", message, INCOMPLETE_READ),)


def estimate_calls(changes: Iterable[Change], max_input_vars: int) -> int:
    """Return how many write calls apply makes for ``changes`` on this site."""
    return sum(calls_by_function(changes, max_input_vars).values())


def calls_by_function(changes: Iterable[Change], max_input_vars: int) -> dict[str, int]:
    """Return the number of write calls per web-service function, sorted by name."""
    # Apply sends each function's items together, whatever segments, groups and
    # courses they belong to (plutoctl.lms.writer).
    items: Counter[str] = Counter()
    for change in changes:
        items[change.kind.function] += item_count(change)
    calls = {f: balanced_calls(f, n, max_input_vars, BEST_STREAMS) for f, n in items.items()}
    return {function: calls[function] for function in sorted(calls) if calls[function]}


READS_PER_CHECK = (SITE_INFO, GET_COHORTS, "")
"""The fixed calls of the freshness check and of the verification ("" is any call)."""


def estimate_seconds(
    changes: Iterable[Change],
    max_input_vars: int,
    site_users: int | None,
    *,
    fields: tuple[str, ...] = ("id", "username"),
) -> float:
    """Return how long applying ``changes`` takes on a typical site (``plutoctl.lms.functions``).

    The writes at the best concurrency, plus the reads of the freshness check and of
    the verification: the users the changes name are learned once, by the cheaper of
    looking them up and listing every user (when the site's user count is known)
    with ``fields``: the freshness check of a saved plan recomputes it, so when rules
    read custom fields it lists ``id,username,customfields``.
    """
    changes = list(changes)
    if not changes:
        return 0.0
    items: Counter[str] = Counter()
    for change in changes:
        items[change.kind.function] += item_count(change)
    calls = calls_by_function(changes, max_input_vars)
    writes = sum(calls_seconds(f, calls.get(f, 1), n) for f, n in items.items())
    asked = len(set().union(*map(usernames_of, changes)))
    learn = calls_seconds(
        USERS_BY_FIELD, balanced_calls(USERS_BY_FIELD, asked, max_input_vars, BEST_STREAMS), asked
    )
    if site_users is not None and asked:
        listing = listing_seconds(site_users, fields, page=1000, streams=BEST_STREAMS)
        learn = min(learn, listing + cost_of(ENROLLED_USERS).fixed_ms / 1000)
    checks = 2 * sum(cost_of(f).fixed_ms for f in READS_PER_CHECK) / 1000
    return writes + (learn if asked else 0.0) + checks
