"""The config's ``acknowledge:`` section: reviewed acknowledgements that live in the diff.

``removals: {dept-sales: 40, ONBOARD-101/onboard-sales: 12}`` lets a plan remove up to
that many members from exactly that segment (bare ID) or group (``COURSE/GROUP``)
beyond ``policy.max_removals``; ``deletes: [old-segment]`` lets it delete (or, for a
protected segment, create) exactly that object. They match objects with the same rule
as ``--allow-removals`` / ``--allow-delete`` (``plutoctl.plan.safety.acknowledges``).

- ``with_config`` adds the section to a run's acknowledgements (a drift run passes
  ``--no-acknowledgements`` and gets none of them).
- ``unused_notices`` names each one that matches nothing in a plan, asking for it to
  be removed: an acknowledgement left behind would admit a later, unreviewed change.
- ``recheck_saved`` runs before a saved plan is applied: every change the policy
  would refuse must still be admitted by the flags recorded in the plan or by the
  config's acknowledgements now, within their counts.
"""

from __future__ import annotations

from dataclasses import replace

from plutoctl.config import LoadedConfig
from plutoctl.config.schema import Config
from plutoctl.errors import UnsafePlanError
from plutoctl.plan.changes.kinds import (
    Change,
    CreateSegment,
    DeleteGroup,
    DeleteSegment,
    RemoveGroupMembers,
    RemoveSegmentMembers,
)
from plutoctl.plan.changes.plans import Notice, Plan, SitePlan
from plutoctl.plan.changes.subjects import allow_flag, subject
from plutoctl.plan.safety import Acknowledgements, acknowledges

NO_ACKNOWLEDGEMENTS_FLAG = "--no-acknowledgements"


def with_config(acks: Acknowledgements, config: Config) -> Acknowledgements:
    """Return ``acks`` plus the config's ``acknowledge:`` section."""
    section = config.acknowledge
    return replace(
        acks,
        bounds=tuple(sorted(section.removals.items())),
        config_deletes=frozenset(section.deletes),
    )


def _is_existence(change: Change) -> bool:
    return isinstance(change, DeleteSegment | DeleteGroup | CreateSegment)


def unused(config: Config, plan: Plan) -> list[str]:
    """Return ``acknowledge.KIND ID`` for each acknowledgement no change of the plan matches."""
    changes = [
        change
        for site in plan.sites
        for change in (*site.changes, *(r.change for r in site.refused))
    ]
    # Removals held back behind a refusal (a group's, while its segment's are refused)
    # are in no change yet, but their entries are what they will need: the notice that
    # holds them back is about them (``plutoctl.plan.knock_on``).
    held = {n.where for site in plan.sites for n in site.held_back}
    result = []
    for name in sorted(config.acknowledge.removals):
        if name in held:
            continue
        if not any(c.kind.removes_users and acknowledges(frozenset({name}), c) for c in changes):
            result.append(f"acknowledge.removals {name}")
    for name in sorted(set(config.acknowledge.deletes)):
        if not any(_is_existence(c) and acknowledges(frozenset({name}), c) for c in changes):
            result.append(f"acknowledge.deletes {name}")
    return result


def unused_notices(loaded: LoadedConfig, plan: Plan) -> Plan:
    """Return the plan with a warning, on its first site, for each unused acknowledgement."""
    if not plan.sites or any(site.errors for site in plan.sites):
        return plan  # a site not planned may be what the acknowledgement is for
    notices = []
    for entry in unused(loaded.config, plan):
        kind, name = entry.split(" ", 1)
        key = name if kind.endswith("removals") else loaded.config.acknowledge.deletes.index(name)
        where = loaded.position_of("acknowledge", kind.split(".")[1], key)
        message = (
            f"{entry} matches nothing in this plan: remove it from the config "
            f"({where}), so that it cannot admit a later change nobody reviewed"
        )
        notices.append(Notice("warning", message, str(where)))
    if not notices:
        return plan
    first = plan.sites[0]
    sites = (replace(first, notices=first.notices + tuple(notices)), *plan.sites[1:])
    return replace(plan, sites=sites)


def recheck_saved(loaded: LoadedConfig, plan: Plan) -> None:
    """Refuse a saved plan with a change the acknowledgements no longer admit.

    The policy and the ``acknowledge:`` section are the config's *now*; flags given
    to ``plutoctl plan`` count if the plan records that they admitted the change.
    """
    config = loaded.config
    acks = with_config(Acknowledgements(), config)
    problems = [
        problem
        for site in plan.sites
        for change in site.changes
        if (problem := _unadmitted(change, site, config, acks)) is not None
    ]
    if problems:
        raise UnsafePlanError(
            "the saved plan makes changes that no acknowledgement admits now: "
            + "; ".join(problems),
            hint=f"acknowledge them in {loaded.path} (acknowledge: removals/deletes) and "
            "make the plan again, or make it again without them",
        )


def _flagged(site: SitePlan, change: Change) -> bool:
    return any(
        a.subject == subject(change) and a.by.startswith("--allow-") for a in site.acknowledged
    )


def _unadmitted(
    change: Change, site: SitePlan, config: Config, acks: Acknowledgements
) -> str | None:
    """Return why a saved change needs an acknowledgement it lacks, or None."""
    where = f"site {site.site}: {subject(change)}"
    if isinstance(change, RemoveSegmentMembers | RemoveGroupMembers):
        count = len(change.usernames)
        if count <= config.policy.removal_limit(change.existing_count) or _flagged(site, change):
            return None
        bound = acks.removal_bound(change)
        if bound is not None and count <= bound[1]:
            return None
        allowed = f"acknowledge.removals allows {bound[1]}" if bound else "none acknowledged"
        return f"{where}: removes {count} of {change.existing_count} ({allowed})"
    if isinstance(change, DeleteSegment | DeleteGroup | CreateSegment):
        if not _needs_existence_ack(change, config) or _flagged(site, change):
            return None
        if acks.deletes_by(change):
            return None
        return f"{where}: {type(change).__name__} is not acknowledged"
    return None


def _needs_existence_ack(
    change: DeleteSegment | DeleteGroup | CreateSegment, config: Config
) -> bool:
    segment = config.segments.get(change.idnumber) if not isinstance(change, DeleteGroup) else None
    if segment is not None and segment.protected:
        return True
    return not isinstance(change, CreateSegment) and change.member_count > 0


def unused_acknowledgements(acks: Acknowledgements, plan: Plan) -> list[str]:
    """Return the ``--allow-*`` flags that match no change or refusal of the plan.

    A typo in an acknowledgement would otherwise pass silently while the plan stays
    refused; naming it lets the user see why.
    """
    named: set[str] = set()
    for site in plan.sites:
        for change in (*site.changes, *(r.change for r in site.refused)):
            named.add(subject(change))
    unused = [allow_flag("--allow-removals", a) for a in sorted(acks.removals - named)]
    unused += [allow_flag("--allow-move", a) for a in sorted(acks.moves - named)]
    return unused + [allow_flag("--allow-delete", a) for a in sorted(acks.deletes - named)]
