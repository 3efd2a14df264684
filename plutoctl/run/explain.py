"""Read what ``plutoctl explain`` needs from a site and explain one user's segments."""

from __future__ import annotations

from plutoctl.config import LoadedConfig
from plutoctl.errors import UsageError
from plutoctl.explain import SegmentExplanation, explain_user, withheld_changes
from plutoctl.plan.acknowledge import with_config
from plutoctl.plan.desired import build_desired
from plutoctl.plan.diff import diff_site
from plutoctl.plan.safety import NO_ACKNOWLEDGEMENTS, check_safety
from plutoctl.plan.scope import Selection, selected_scope
from plutoctl.run.connect import Connection, open_site
from plutoctl.run.plan import read_existing, with_unmanaged_members
from plutoctl.run.sites import sites_to_run


def pick_site(loaded: LoadedConfig, site: str | None) -> str:
    """Return the site to explain on: the one named, or the only one."""
    if site is not None:
        return site
    sites = list(loaded.config.sites)
    if len(sites) == 1:
        return sites[0]
    raise UsageError(
        "this config has several sites; say which one",
        hint=f"add --site NAME (one of: {', '.join(sites)})",
    )


def explain_on_site(
    loaded: LoadedConfig, site: str, username: str, connection: Connection
) -> tuple[list[SegmentExplanation], tuple[str, ...]]:
    """Read ``site`` and return, for each of its segments, whether ``username`` is in it and
    why; and why the read was incomplete, if it was (then the answer may be wrong)."""
    selection = Selection(sites=(site,))
    sites_to_run(loaded, selection)
    scope = selected_scope(loaded, site, selection)
    with open_site(site, loaded, connection) as client:
        existing = read_existing(client, scope, extra_usernames=frozenset({username}))
        # Segments the config does not declare are listed too (last): read their members.
        existing = with_unmanaged_members(client, existing, frozenset(loaded.config.segments))
    result = build_desired(loaded, site, existing, scope=scope)
    # What the plan makes of it, as `plutoctl plan` would (the config's acknowledgements):
    # a change the safety rules refuse or hold back is not "will be".
    policy = loaded.config.policy
    diff = diff_site(
        result.desired,
        existing,
        unmanaged=policy.unmanaged_segments,
        managed_scope=frozenset(loaded.config.segments) - set(scope.segments),
    )
    acks = with_config(NO_ACKNOWLEDGEMENTS, loaded.config)
    planned = check_safety(diff.changes, existing, result.desired, policy, acks)
    withheld = withheld_changes(username, diff.changes, planned)
    explanations = explain_user(loaded, site, existing, username, result, withheld)
    return explanations, existing.incomplete
