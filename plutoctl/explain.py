"""Why a user is, or would be, in each segment of a site (``plutoctl explain``, docs/rules.md).

Pure: works on the loaded config, the existing site and the desired result that
``plutoctl.plan.desired.build_desired`` made for it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace

from plutoctl.config.loaded import LoadedConfig, SourcedName
from plutoctl.errors import PlanError
from plutoctl.model import ExistingSite, User
from plutoctl.plan.changes.kinds import (
    AddSegmentMembers,
    Change,
    DeleteSegment,
    RemoveSegmentMembers,
)
from plutoctl.plan.desired import DesiredResult, SegmentSources
from plutoctl.plan.render.common import clean
from plutoctl.plan.safety import SafetyResult


@dataclass(frozen=True)
class SegmentExplanation:
    """One segment's verdict for one user.

    ``is_member`` is the existing state (None when the segment does not exist on the
    site yet, or its members were not read). ``will_be_member`` is the state after
    apply (None when plutoctl does not manage the segment's membership).
    ``reasons`` say what decided, one line each.
    """

    segment: str
    name: str
    is_member: bool | None
    will_be_member: bool | None
    reasons: tuple[str, ...]
    is_configured: bool = True
    # Why the plan does not make the change the config calls for (refused, held back).
    withheld: str | None = None
    # The segment is on the site, but its members were not read: membership unknown.
    is_unread: bool = False
    # The rules (1-based) of the segment the plan rejects: then there is no verdict.
    rejected: tuple[int, ...] = ()

    @property
    def status(self) -> str:
        """Return the verdict in words: ``member; will be removed`` and the like."""
        if self.is_unread:
            wanted = "a member" if self.will_be_member else "not a member"
            return f"membership not read; should be {wanted}, but the plan does not change it now"
        now = {True: "member", False: "not a member", None: "not a member yet"}[self.is_member]
        if self.rejected:
            rules = ", ".join(map(str, self.rejected))
            return f"{now}; no verdict: the plan rejects rule {rules} of this segment"
        if self.will_be_member is None or self.will_be_member == bool(self.is_member):
            stays = "" if self.will_be_member is None else "; no change"
            return now + stays
        change = "added" if self.will_be_member else "removed"
        if self.withheld is not None:
            return f"{now}; would be {change}, but the plan does not do it now"
        return f"{now}; will be {change}"


def withheld_changes(
    username: str, called_for: Iterable[Change], planned: SafetyResult, stopped: str | None = None
) -> dict[str, str]:
    """Return, by segment, why the plan does not make a change the config calls for
    that concerns ``username``: refused by the safety policy, or held back; or, with
    ``stopped`` (why the site's plan makes nothing: its errors, or refused changes),
    every one of them (a refused one as refused)."""
    made = set() if stopped is not None else set(planned.changes)
    refusals = {refusal.change: refusal for refusal in planned.refused}
    held = {notice.where: notice.message for notice in planned.held_back}
    withheld: dict[str, str] = {}
    for change in called_for:
        if isinstance(change, DeleteSegment) and change not in made:
            refused = refusals.get(change)
            if refused is not None:  # a segment the config does not declare, kept
                withheld[change.idnumber] = (
                    f"its delete is refused: {refused.reason}; to allow: {refused.acknowledge}"
                )
            elif stopped is not None:
                withheld[change.idnumber] = stopped
            continue
        if not isinstance(change, AddSegmentMembers | RemoveSegmentMembers):
            continue
        if username not in change.usernames or change in made:
            continue
        refusal = refusals.get(change)
        if refusal is not None:
            withheld[change.idnumber] = (
                f"refused: {refusal.reason}; to allow: {refusal.acknowledge}"
            )
        elif stopped is not None:
            withheld[change.idnumber] = stopped
        else:
            withheld[change.idnumber] = held.get(change.idnumber, "held back by the plan")
    return withheld


def explain_user(
    loaded: LoadedConfig,
    site: str,
    existing: ExistingSite,
    username: str,
    result: DesiredResult,
    withheld: Mapping[str, str] | None = None,
    deleted: Collection[str] = (),
) -> list[SegmentExplanation]:
    """Return, for every segment of ``site``, whether ``username`` is in it and why.

    ``withheld``: by segment, why the plan does not make the change for this user that
    the config calls for (``withheld_changes``). ``deleted``: the segments the config
    does not declare that the plan deletes (``unmanaged_segments: delete``).
    """
    user = existing.users.get(username)
    if user is None and existing.incomplete:  # not found, or not read: cannot be told
        raise PlanError(
            f"user {username!r} could not be read on site {site!r}: "
            + "; ".join(existing.incomplete[:2]),
            hint="explain again once the site answers every read",
        )
    if user is None:
        raise PlanError(
            f"user {username!r} does not exist on site {site!r}",
            hint="check the spelling: usernames are lowercase on Pluto; "
            "or name another site with --site",
        )
    # The rules the plan refuses to evaluate (a field the site does not show, a match
    # its type cannot take): as the plan checks them, against every user only.
    declared = loaded.config.sites[site].profile_fields
    ruleset = result.sources.ruleset
    problems = (
        ruleset.check(existing.users, existing.field_types, declared)
        if existing.has_all_users
        else []
    )
    grounds = _Grounds(
        loaded, existing, result, {(p.segment, p.rule_index): p.message for p in problems}
    )
    explanations = [
        _with_withheld(_configured(grounds, user, sid), withheld or {})
        for sid in result.desired.segments
    ]
    configured = set(result.desired.segments)
    explanations += _unconfigured(
        loaded, existing, username, configured, withheld or {}, frozenset(deleted)
    )
    return explanations


def _with_withheld(item: SegmentExplanation, withheld: Mapping[str, str]) -> SegmentExplanation:
    why = withheld.get(item.segment)
    if why is None or item.will_be_member is None or item.is_unread:
        return item
    return replace(item, reasons=(*item.reasons, why), withheld=why)


@dataclass(frozen=True)
class _Grounds:
    """What every segment's verdict is judged from: the config, the site as read, the
    desired state, and the rules the plan rejects there (``(segment, rule index)`` →
    why)."""

    loaded: LoadedConfig
    existing: ExistingSite
    result: DesiredResult
    rejected: Mapping[tuple[str, int], str]


def _configured(grounds: _Grounds, user: User, sid: str) -> SegmentExplanation:
    existing, result = grounds.existing, grounds.result
    desired = result.desired.segments[sid]
    found = existing.segments.get(sid)
    is_member = None if found is None or found.members is None else user.username in found.members
    sources = result.sources.segments.get(sid, SegmentSources(is_managed=False))
    if desired.members is None or not sources.is_managed:
        reasons: tuple[str, ...] = ("membership not managed by plutoctl",)
        return SegmentExplanation(sid, desired.fields.name, is_member, None, reasons)
    reasons = _reasons(grounds, user, sid)
    rejected = tuple(sorted(i + 1 for s, i in grounds.rejected if s == sid))
    if rejected:  # the plan makes nothing of the segment: a verdict would mislead
        return SegmentExplanation(
            sid, desired.fields.name, is_member, None, reasons, rejected=rejected
        )
    will_be = user.username in desired.members
    if found is not None and found.members is None:
        unread = "the segment's members on the site were not read: the plan changes none now"
        return SegmentExplanation(
            sid, desired.fields.name, None, will_be, (*reasons, unread), is_unread=True
        )
    if not will_be and is_member and desired.is_additive:
        will_be = True
        reasons += ("kept: membership is additive, so plutoctl never removes members",)
    return SegmentExplanation(sid, desired.fields.name, is_member, will_be, reasons)


def _reasons(grounds: _Grounds, user: User, sid: str) -> tuple[str, ...]:
    result, rejected = grounds.result, grounds.rejected
    sources = result.sources.segments[sid]
    seg = grounds.loaded.config.segments[sid]
    reasons = [_named_reason(entry) for entry in sources.named.get(user.username, ())]
    if not reasons and ("members" in seg.model_fields_set or seg.members_csv):
        reasons.append("not listed in members or members_csv")
    verdicts = result.sources.ruleset.explain(user, sid, grounds.existing.field_types)
    # A rule the plan rejects is named as the error it is, never as matched or not.
    reasons += [
        f"rule {v.index + 1} is an error: {rejected[sid, v.index]}"
        for v in verdicts
        if (sid, v.index) in rejected
    ]
    judged = [v for v in verdicts if (sid, v.index) not in rejected]
    if judged:
        matched = [v.describe() for v in judged if v.matched]
        if matched:
            reasons += matched
        else:
            reasons.append("no rule matched (" + "; ".join(v.describe() for v in judged) + ")")
    reasons += [f"excluded at {e.position}" for e in sources.excluded.get(user.username, ())]
    return tuple(reasons)


def _named_reason(entry: SourcedName) -> str:
    if entry.source == "members_csv":
        return f"listed at line {entry.position.line} of {entry.position.file}"
    return f"listed in members at {entry.position}"


def _unconfigured(
    loaded: LoadedConfig,
    existing: ExistingSite,
    username: str,
    configured: set[str],
    withheld: Mapping[str, str],
    deleted: frozenset[str],
) -> list[SegmentExplanation]:
    """Return the segments not in the config that the user is a member of: kept, or
    deleted by the plan (the user goes with them)."""
    policy = loaded.config.policy.unmanaged_segments
    found = []
    for sid, seg in sorted(existing.segments.items()):
        if sid in configured or seg.members is None or username not in seg.members:
            continue
        declared = loaded.config.segments.get(sid)
        where = (
            f"segment not declared for site {existing.site!r} (the config declares it for: "
            f"{', '.join(loaded.config.sites_for(declared.sites))})"
            if declared is not None
            else "segment not in the config"
        )
        reason = f"{where} (policy unmanaged_segments: {policy})"
        if sid in deleted:
            why = withheld.get(sid)
            deletes = (
                "the plan would delete this segment" if why else "the plan deletes this segment"
            )
            gone = (reason, deletes, *([why] if why else []))
            found.append(
                SegmentExplanation(sid, seg.fields.name, True, False, gone, False, withheld=why)
            )
            continue
        kept = (reason, withheld[sid]) if sid in withheld else (reason,)
        found.append(SegmentExplanation(sid, seg.fields.name, True, None, kept, False))
    return found


def render_explanation(explanations: list[SegmentExplanation], username: str, site: str) -> str:
    """Return the explanation as plain text for the terminal."""
    lines = [f"User {username!r} on site {site!r}:"]
    if not explanations:
        lines.append("  no segments on this site")
    for item in explanations:
        lines.append(f"  {item.segment} ({item.name}): {item.status}")
        lines += [f"    - {reason}" for reason in item.reasons]
    # IDs and names come from the site: a terminal escape in one is shown, not obeyed.
    return "".join(clean(line) + "\n" for line in lines)
