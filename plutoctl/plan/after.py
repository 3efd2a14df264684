"""What a segment's members are once a plan has run: what its courses' groups and
enrolments follow (``members_after``), and what the run leaves for later
(``bound_leavers``)."""

from __future__ import annotations

from plutoctl.model import DesiredSite, ExistingSite
from plutoctl.plan.changes.plans import Notice
from plutoctl.plan.summary import plural


def members_after(
    idnumber: str, desired: DesiredSite, existing: ExistingSite
) -> frozenset[str] | None:
    """Return a segment's members once the plan has run, or None when unknown.

    Exact membership ends as desired; additive keeps the existing members too;
    unmanaged membership (or a segment the config does not declare) stays as it is. A
    segment the run leaves out but its courses bind (``DesiredSite.bound``) gains the
    members the config gives it and keeps those it has: the run does not remove them
    from the segment, nor does it take them out of its courses ahead of the segment
    (where the segment's own removal would be refused, or not yet acknowledged).
    """
    bound = idnumber not in desired.segments
    want = desired.segments.get(idnumber) or desired.bound.get(idnumber)
    have = existing.segments.get(idnumber)
    have_members = have.members if have is not None else frozenset()
    if want is None:
        return have.members if have is not None else None
    if want.members is None or have_members is None:
        return have_members
    if want.is_additive or bound:
        return want.members | have_members
    return want.members


def bound_leavers(desired: DesiredSite, existing: ExistingSite) -> tuple[Notice, ...]:
    """Say, for each segment the run leaves out, that its leavers stay in its courses."""
    held = []
    for sid in sorted(desired.bound):
        want, have = desired.bound[sid], existing.segments.get(sid)
        if want.members is None or want.is_additive or have is None or have.members is None:
            continue
        leavers = have.members - want.members
        if leavers:
            message = (
                f"kept {plural(len(leavers), 'member')} of {sid} in the groups and enrolments "
                f"bound to it: segment {sid} is left out of this run, and its members are "
                "removed from it (and so from them) by a run that includes it"
            )
            held.append(Notice("info", message, sid))
    return tuple(held)
