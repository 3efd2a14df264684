"""Names that are two objects at once, for acknowledgements (pure).

An acknowledgement names exactly one object: a bare ID a segment (or, for its
unenrolments, a course), ``COURSE/GROUP`` a group. A name that two objects a plan
changes share (a segment and a course named alike; a segment whose ID holds a "/"
and a group named ``COURSE/GROUP`` alike; a bare ID that is also a group's idnumber)
cannot say which is meant: such a flag or entry is refused, and a refusal of such an
object names no flag that would be.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from plutoctl.errors import UsageError
from plutoctl.plan.changes.base import Target
from plutoctl.plan.changes.kinds import (
    Change,
    CreateSegment,
    DeleteGroup,
    DeleteSegment,
    UpdateSegment,
)
from plutoctl.plan.changes.plans import Refusal
from plutoctl.plan.changes.subjects import allow_flag, group_idnumber, subject


def needs(change: Change) -> str | None:
    """Return the acknowledgement a change may need (``removals``, ``delete``, ``move``)."""
    if change.kind.removes_users:
        return "removals"
    if isinstance(change, DeleteSegment | DeleteGroup | CreateSegment):
        return "delete"
    if isinstance(change, UpdateSegment):
        return "move"
    return None


_TWO_OBJECTS = "rename one of them, or make the change in steps within policy"


def names_of_two_objects(changes: Iterable[Change]) -> dict[tuple[str, str], list[Target]]:
    """Return, by (acknowledgement needed, name), the kinds of object a name that is the
    subject of two kinds needing that sort of acknowledgement (``needs``) names: a
    segment and a course (its unenrolments) named alike, or a segment or course whose ID
    holds a "/" and a group named ``COURSE/GROUP`` alike. A segment that only gains
    members needs no acknowledgement, and makes no ambiguity."""
    targets: dict[tuple[str, str], set[Target]] = {}
    for change in changes:
        need = needs(change)
        if need is not None:
            targets.setdefault((need, subject(change)), set()).add(change.kind.target)
    return {key: sorted(kinds) for key, kinds in targets.items() if len(kinds) > 1}


def refuse_names_of_two_objects(
    changes: tuple[Change, ...], flags: tuple[tuple[str, frozenset[str], str], ...]
) -> None:
    """Refuse an acknowledgement of a name that is two objects (``names_of_two_objects``)."""
    two = names_of_two_objects(changes)
    for flag, names, need in flags:
        for name in sorted(names):
            kinds = two.get((need, name))
            if kinds:
                raise UsageError(
                    f"{allow_flag(flag, name)} is ambiguous: {name} names both a "
                    f"{' and a '.join(kinds)} that this plan changes",
                    hint="an acknowledgement allows exactly one object, and this name is two "
                    f"here; {_TWO_OBJECTS}",
                )


def no_flag(refusal: Refusal, two: Mapping[tuple[str, str], list[Target]]) -> Refusal:
    """Say, for a refusal whose object shares its name with another, that no flag allows
    it: the one that would is refused as ambiguous."""
    name = subject(refusal.change)
    kinds = two.get((needs(refusal.change) or "", name))
    if not kinds:
        return refusal
    why = f"no flag: {name} names both a {' and a '.join(kinds)} that this plan changes"
    return Refusal(refusal.change, refusal.reason, f"{why}; {_TWO_OBJECTS}")


def refuse_bare_group_ids(
    changes: tuple[Change, ...], flags: tuple[tuple[str, frozenset[str]], ...]
) -> None:
    groups: dict[str, set[str]] = {}
    for change in changes:
        gid = group_idnumber(change)
        if gid is not None:
            groups.setdefault(gid, set()).add(subject(change))
    bare = {subject(c) for c in changes if group_idnumber(c) is None}
    for flag, names in flags:
        for name in sorted(names):
            # Naming the group(s) as well says what is meant: both.
            if name in bare and not groups.get(name, set()) <= names:
                both = ", ".join(allow_flag(flag, g) for g in sorted(groups[name]))
                raise UsageError(
                    f"{allow_flag(flag, name)} is ambiguous: {name} is a segment and also the "
                    f"idnumber of group {', '.join(sorted(groups[name]))}",
                    hint=f"a bare ID names the segment, a group is named COURSE/GROUP ({both}); "
                    f"to allow both, give {allow_flag(flag, name)} and {both}; to allow only one, "
                    "rename the segment or the group's idnumber",
                )
