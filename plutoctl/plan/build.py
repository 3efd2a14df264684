"""Assemble one site's plan: diff → safety → fingerprints → API-call estimate.

``plan_site`` is the pure heart of ``plutoctl plan``: given desired and existing
state it returns the ``SitePlan`` the renderers print and apply runs.
``estimate_calls`` counts the write calls apply will make, batched exactly as the
client batches them (``plutoctl.batching``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable

from plutoctl.batching import calls_needed
from plutoctl.config.schema import PolicyConfig
from plutoctl.model import DesiredSite, ExistingSite
from plutoctl.plan.changes import (
    WRITE_FUNCTIONS,
    Change,
    Notice,
    SitePlan,
    item_count,
)
from plutoctl.plan.diff import diff_site
from plutoctl.plan.fingerprint import fingerprint_keys, fingerprints
from plutoctl.plan.safety import Acknowledgements, check_safety

# Group writes name one course per call in apply; other functions batch across
# segments and courses.
PER_COURSE_FUNCTIONS = frozenset(
    {"core_group_create_groups", "core_group_update_groups", "core_group_delete_groups"}
)


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
        notices=tuple(notices) + diff.notices,
        api_calls=estimate_calls(safe.changes, max_input_vars),
        fingerprints=fingerprints(existing, fingerprint_keys(touched)),
        acknowledged=safe.acknowledged,
    )


def estimate_calls(changes: Iterable[Change], max_input_vars: int) -> int:
    """Return how many write calls apply makes for ``changes`` on this site."""
    return sum(calls_by_function(changes, max_input_vars).values())


def calls_by_function(changes: Iterable[Change], max_input_vars: int) -> dict[str, int]:
    """Return the number of write calls per web-service function, sorted by name."""
    items: Counter[tuple[str, str]] = Counter()
    for change in changes:
        function, count = WRITE_FUNCTIONS[change.step], item_count(change)
        course = getattr(change, "course", "") if function in PER_COURSE_FUNCTIONS else ""
        items[(function, course)] += count
    calls: Counter[str] = Counter()
    for (function, _course), count in items.items():
        calls[function] += calls_needed(function, count, max_input_vars)
    return {function: calls[function] for function in sorted(calls) if calls[function]}
