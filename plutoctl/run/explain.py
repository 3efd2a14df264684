"""Read what ``plutoctl explain`` needs from a site and explain one user's segments."""

from __future__ import annotations

from dataclasses import dataclass

from plutoctl.config import LoadedConfig
from plutoctl.errors import UsageError
from plutoctl.explain import SegmentExplanation, explain_user, withheld_changes
from plutoctl.plan.acknowledge import with_config
from plutoctl.plan.changes.kinds import DeleteSegment
from plutoctl.plan.desired import build_desired
from plutoctl.plan.diff import diff_site
from plutoctl.plan.safety import NO_ACKNOWLEDGEMENTS, check_safety
from plutoctl.plan.scope import Selection, segments_for, selected_scope
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


@dataclass(frozen=True)
class SiteExplanation:
    """``explain``'s answer for one site: a line per segment, and what may make it wrong.

    ``incomplete``: why the read was incomplete (then the answer may be wrong);
    ``errors``: the site's plan errors (then nothing the answer says "will be" is
    applied until they are fixed).
    """

    segments: list[SegmentExplanation]
    incomplete: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


def explain_on_site(
    loaded: LoadedConfig, site: str, username: str, connection: Connection
) -> SiteExplanation:
    """Read ``site`` and say, for each of its segments, whether ``username`` is in it and
    why."""
    selection = Selection(sites=(site,))
    sites_to_run(loaded, selection)
    scope = selected_scope(loaded, site, selection)
    with open_site(site, loaded, connection) as client:
        existing = read_existing(client, scope, extra_usernames=frozenset({username}))
        # Segments the config does not declare are listed too (last): read their members.
        on_site = frozenset(segments_for(loaded.config, site))
        existing = with_unmanaged_members(client, existing, on_site)
    result = build_desired(loaded, site, existing, scope=scope)
    # What the plan makes of it, as `plutoctl plan` would (the config's acknowledgements):
    # a change the safety rules refuse or hold back is not "will be".
    policy = loaded.config.policy
    diff = diff_site(
        result.desired,
        existing,
        unmanaged=policy.unmanaged_segments,
        managed_scope=on_site - set(scope.segments),
    )
    acks = with_config(NO_ACKNOWLEDGEMENTS, loaded.config)
    planned = check_safety(diff.changes, existing, result.desired, policy, acks)
    stopped = None
    if result.errors:
        first = result.errors[0].message
        stopped = f"the site's plan has errors, so nothing is applied there ({first})"
    elif planned.refused:
        stopped = (
            "the site's plan holds refused changes, so nothing is applied there until they "
            "are acknowledged (see plutoctl plan)"
        )
    withheld = withheld_changes(username, diff.changes, planned, stopped)
    deleted = {c.idnumber for c in planned.changes if isinstance(c, DeleteSegment)}
    explanations = explain_user(loaded, site, existing, username, result, withheld, deleted)
    errors = tuple(notice.message for notice in result.errors)
    return SiteExplanation(explanations, existing.incomplete, errors)
