"""Diff desired against existing state into typed changes.

Pure: it reads two state values and returns the changes that turn one into the
other, in step order, plus notices (unmanaged segments, name clashes, missing
courses) and held-back removals (additive membership, enrolments kept because the
entry does not allow unenrol). Which enrolments go is decided in
``plutoctl.plan.enrolment``. Safety rules are applied afterwards by
``plutoctl.plan.safety``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from plutoctl.config.check_segments import collation_key
from plutoctl.model import (
    DesiredCourse,
    DesiredEnrolment,
    DesiredGroup,
    DesiredSegment,
    DesiredSite,
    ExistingCourse,
    ExistingGroup,
    ExistingSegment,
    ExistingSite,
    SegmentFields,
)
from plutoctl.plan.after import bound_leavers, members_after
from plutoctl.plan.changes.base import FieldChanges, group_subject
from plutoctl.plan.changes.kinds import (
    AddSegmentMembers,
    Change,
    CreateGroup,
    CreateSegment,
    DeleteGroup,
    DeleteSegment,
    Enrol,
    RemoveSegmentMembers,
    Unenrol,
    UpdateGroup,
    UpdateSegment,
)
from plutoctl.plan.changes.plans import Notice
from plutoctl.plan.changes.subjects import subject
from plutoctl.plan.enrolment import plan_unenrolments
from plutoctl.plan.group_members import group_member_changes, unseen_notice
from plutoctl.plan.summary import plural

Unmanaged = Literal["ignore", "report", "delete"]

MOVE_TO_SYSTEM = ("context", "category", "system")
"""The field change of an update that moves a category-level segment to the system."""

_DIFF_KINDS = (
    "values_changed",
    "type_changes",
    "dictionary_item_added",
    "dictionary_item_removed",
)


@dataclass(frozen=True)
class DiffResult:
    """The changes a site needs, and what the plan reader should know besides."""

    changes: tuple[Change, ...] = ()
    notices: tuple[Notice, ...] = ()
    held_back: tuple[Notice, ...] = ()

    def __add__(self, other: DiffResult) -> DiffResult:
        return DiffResult(
            self.changes + other.changes,
            self.notices + other.notices,
            self.held_back + other.held_back,
        )


@dataclass(frozen=True)
class _Context:
    desired: DesiredSite
    existing: ExistingSite
    unmanaged: Unmanaged
    managed_scope: frozenset[str] = field(default_factory=frozenset)


def field_changes(old: Mapping[str, object], new: Mapping[str, object]) -> FieldChanges:
    """Return ``(field, old, new)`` for every field whose value differs, sorted by field.

    This is the one place deepdiff is used: it compares flat field dicts of a segment
    or a group. A field present on one side only compares against None.
    """
    if old == new:  # the common case; DeepDiff costs far more than a comparison
        return ()
    # Imported here: deepdiff pulls in numpy (about 0.15 s), and most runs never get here.
    from deepdiff import DeepDiff

    tree = DeepDiff(dict(old), dict(new), view="tree")
    found: dict[str, tuple[str, object, object]] = {}
    for kind in _DIFF_KINDS:
        for item in tree.get(kind, ()):
            name = str(item.path(output_format="list")[0])
            found[name] = (name, old.get(name), new.get(name))
    return tuple(found[name] for name in sorted(found))


def segment_field_dict(fields: SegmentFields) -> dict[str, object]:
    """Return a segment's managed fields as a dict."""
    return {"name": fields.name, "description": fields.description, "visible": fields.visible}


def change_sort_key(change: Change) -> tuple[int, str, str]:
    """Return the key that orders changes: step, then subject, then role/segment."""
    detail = ""
    match change:
        case Enrol(role=role, segment=segment):
            detail = f"{role}\0{segment}"
        case Unenrol(segment=segment):
            detail = segment
    return (int(change.step), subject(change), detail)


def sort_changes(changes: Iterable[Change]) -> tuple[Change, ...]:
    """Return changes in the order apply runs them (``Step``, docs/plan-format.md)."""
    return tuple(sorted(changes, key=change_sort_key))


def diff_site(
    desired: DesiredSite,
    existing: ExistingSite,
    *,
    unmanaged: Unmanaged = "ignore",
    managed_scope: Collection[str] | None = None,
) -> DiffResult:
    """Return the changes that make ``existing`` match ``desired``, in step order.

    ``managed_scope`` holds the IDs of config segments left out of this run (by
    ``--only``/``--except``): they are never treated as unmanaged.
    """
    ctx = _Context(desired, existing, unmanaged, frozenset(managed_scope or ()))
    result = DiffResult()
    for idnumber in sorted(desired.segments):
        want = desired.segments[idnumber]
        result += _diff_segment(want, existing.segments.get(idnumber))
    result += _case_twins(desired.segments, existing.segments)
    result += _diff_unmanaged_segments(ctx)
    for shortname in sorted(desired.courses):
        result += _diff_course(ctx, desired.courses[shortname])
    result += DiffResult(held_back=bound_leavers(desired, existing))
    return DiffResult(sort_changes(result.changes), result.notices, result.held_back)


# --- segments ----------------------------------------------------------------------


def _diff_segment(want: DesiredSegment, have: ExistingSegment | None) -> DiffResult:
    if have is None:
        changes: list[Change] = [CreateSegment(want.idnumber, want.fields)]
        if want.members:
            changes.append(AddSegmentMembers(want.idnumber, tuple(sorted(want.members))))
        return DiffResult(tuple(changes))
    result = DiffResult()
    changed = field_changes(segment_field_dict(have.fields), segment_field_dict(want.fields))
    if changed and have.is_in_category is not False:  # in a category, or not known
        # The update call takes the context too and plutoctl can only name the
        # system's: the plan must say that the update moves the segment there.
        changed = tuple(sorted((*changed, MOVE_TO_SYSTEM)))
    if changed:
        result += DiffResult((UpdateSegment(want.idnumber, have.id, want.fields, changed),))
    return result + _diff_segment_members(want, have)


def _case_twins(
    desired: Mapping[str, DesiredSegment], existing: Mapping[str, ExistingSegment]
) -> DiffResult:
    """Warn of each segment to create whose ID a site's segment holds in another case.

    Moodle's uniqueness check on a cohort's ID is the database's comparison: on MySQL
    and MariaDB (blind to case and accents), ``Dept-Sales`` is refused as a duplicate of
    ``dept-sales``, and ``münchen`` of ``munchen``; on PostgreSQL it is a second segment.
    """
    to_create = [idnumber for idnumber in desired if idnumber not in existing]
    on_site = {collation_key(sid): sid for sid in sorted(existing, reverse=True)}
    notices = []
    for idnumber in sorted(to_create):
        twin = on_site.get(collation_key(idnumber))
        if twin is not None:
            message = (
                f"segment {idnumber} is to be created, but the site has segment {twin}, "
                "whose ID differs only in case, accents or how its letters are written: a "
                "site on MySQL or MariaDB takes them for one ID and refuses the create; to "
                f"manage that segment, name it {twin} in the config"
            )
            notices.append(Notice("warning", message, idnumber))
    return DiffResult(notices=tuple(notices))


def _diff_segment_members(want: DesiredSegment, have: ExistingSegment) -> DiffResult:
    if want.members is None:
        return DiffResult()
    if have.members is None:
        message = f"members of segment {want.idnumber} were not read: membership not planned"
        return DiffResult(notices=(Notice("warning", message, want.idnumber),))
    changes: list[Change] = []
    adds = want.members - have.members
    if adds:
        changes.append(AddSegmentMembers(want.idnumber, tuple(sorted(adds))))
    leavers = have.members - want.members
    if not leavers:
        return DiffResult(tuple(changes))
    if want.is_additive:
        message = (
            f"kept {plural(len(leavers), 'member')} of {want.idnumber}: membership is additive"
        )
        return DiffResult(tuple(changes), held_back=(Notice("info", message, want.idnumber),))
    removal = RemoveSegmentMembers(want.idnumber, tuple(sorted(leavers)), len(have.members))
    return DiffResult((*changes, removal))


def _diff_unmanaged_segments(ctx: _Context) -> DiffResult:
    if ctx.unmanaged == "ignore":
        return DiffResult()
    result = DiffResult()
    for idnumber in sorted(ctx.existing.segments):
        have = ctx.existing.segments[idnumber]
        if not have.idnumber or have.idnumber in ctx.desired.segments:
            continue
        if have.idnumber in ctx.managed_scope:
            continue
        result += _unmanaged_segment(have, ctx.unmanaged)
    return result


def _unmanaged_segment(have: ExistingSegment, unmanaged: Unmanaged) -> DiffResult:
    count = "members not read" if have.members is None else plural(len(have.members), "member")
    if unmanaged == "report":
        message = f"unmanaged segment {have.idnumber} ({count})"
        return DiffResult(notices=(Notice("info", message, have.idnumber),))
    if have.members is None:
        message = f"unmanaged segment {have.idnumber} not deleted: its members were not read"
        return DiffResult(notices=(Notice("warning", message, have.idnumber),))
    return DiffResult((DeleteSegment(have.idnumber, have.id, len(have.members)),))


# --- courses: enrolment, then groups (group members depend on enrolments) ------------


def _diff_course(ctx: _Context, want: DesiredCourse) -> DiffResult:
    have = ctx.existing.courses.get(want.shortname)
    if have is None:
        message = (
            f"course {want.shortname} does not exist on site {ctx.existing.site}: "
            "its groups and enrolments are not planned"
        )
        return DiffResult(notices=(Notice("error", message, want.shortname),))
    enrolment = _diff_enrolments(ctx, want, have)
    enrolled = _enrolled_after(have, enrolment.changes)
    groups = _diff_groups(ctx, want, have, enrolled)
    return enrolment + groups


def _enrolled_after(have: ExistingCourse, changes: Iterable[Change]) -> frozenset[str]:
    enrolled = set(have.enrolments)
    for change in changes:
        match change:
            case Enrol(usernames=names):
                enrolled.update(names)
            case Unenrol(usernames=names):
                enrolled.difference_update(names)
    return frozenset(enrolled)


def _diff_enrolments(ctx: _Context, want: DesiredCourse, have: ExistingCourse) -> DiffResult:
    result = DiffResult()
    planned: dict[str, set[str]] = {}
    for entry in want.enrolments:
        result += _enrol_entry(ctx, entry, have, planned.setdefault(entry.role, set()))
    segments = {entry.segment for entry in want.enrolments}
    after = {sid: members_after(sid, ctx.desired, ctx.existing) for sid in segments}
    before = {sid: _members_now(ctx.existing, sid) for sid in segments}
    found = plan_unenrolments(want, have, after, before)
    return result + DiffResult(found.changes, found.notices, found.held_back)


def _members_now(existing: ExistingSite, idnumber: str) -> frozenset[str] | None:
    segment = existing.segments.get(idnumber)
    return segment.members if segment is not None else None


def _enrol_entry(
    ctx: _Context, entry: DesiredEnrolment, have: ExistingCourse, planned: set[str]
) -> DiffResult:
    members = members_after(entry.segment, ctx.desired, ctx.existing) or frozenset()
    missing = {u for u in members if entry.role not in have.enrolments.get(u, ())} - planned
    if not missing:
        return DiffResult()
    planned |= missing
    return DiffResult((Enrol(have.shortname, entry.role, tuple(sorted(missing)), entry.segment),))


def _diff_groups(
    ctx: _Context, want: DesiredCourse, have: ExistingCourse, enrolled: frozenset[str]
) -> DiffResult:
    result = DiffResult()
    existing_groups = have.groups
    for gid in sorted(want.groups):
        group = want.groups[gid]
        current = existing_groups.get(gid)
        is_naming = current is None or current.name != group.name
        clash = _name_clash(group, have, want) if is_naming else None
        if clash is not None:
            result += DiffResult(notices=(clash,))
            if current is None:
                continue
            # Keep the existing name; the other fields can still be brought in line.
            result += _diff_group_fields(have, replace(group, name=current.name), current)
        else:
            result += _diff_group_fields(have, group, current)
        result += _diff_group_members(ctx, have, group, current, enrolled)
    if ctx.unmanaged == "delete":
        for gid in sorted(set(existing_groups) - set(want.groups)):
            extra = existing_groups[gid]
            result += DiffResult((DeleteGroup(have.shortname, gid, extra.id, len(extra.members)),))
    return result


def _name_clash(group: DesiredGroup, have: ExistingCourse, want: DesiredCourse) -> Notice | None:
    """Return an error notice when another group of the course holds the wanted name.

    The site refuses a create or rename to a name another group has (its check follows
    the database collation, so names compare case-insensitively here).
    """
    wanted = group.name.casefold()
    others = [(g.idnumber, g.name) for g in have.all_groups if g.idnumber != group.idnumber]
    others += [(gid, g.name) for gid, g in want.groups.items() if gid < group.idnumber]
    holders = [gid for gid, other in others if other.casefold() == wanted]
    if not holders:
        return None
    name = group_subject(have.shortname, group.idnumber)
    holder = group_subject(have.shortname, holders[0]) if holders[0] else "a group without idnumber"
    message = (
        f"group {name} not created or renamed: another group in {have.shortname} "
        f"({holder}) is already named {group.name!r}"
    )
    current = next((g for g in have.all_groups if g.idnumber == group.idnumber), None)
    theirs = want.groups.get(holders[0])
    if (
        current is not None
        and theirs is not None
        and theirs.name.casefold() == current.name.casefold()
    ):
        message += (
            "; the two swap names, which the site cannot do at once: rename one of them "
            "to a third name and apply, then apply the swap (it takes two runs)"
        )
    return Notice("error", message, name)


def _diff_group_fields(
    have: ExistingCourse, group: DesiredGroup, current: ExistingGroup | None
) -> DiffResult:
    course = have.shortname
    if current is None:
        return DiffResult((CreateGroup(course, group.idnumber, group.name, group.description),))
    old = {"name": current.name, "description": current.description}
    new = {"name": group.name, "description": group.description}
    changed = field_changes(old, new)
    if not changed:
        return DiffResult()
    update = UpdateGroup(course, group.idnumber, current.id, group.name, group.description, changed)
    return DiffResult((update,))


def _diff_group_members(
    ctx: _Context,
    have: ExistingCourse,
    group: DesiredGroup,
    current: ExistingGroup | None,
    enrolled: frozenset[str],
) -> DiffResult:
    if group.segment is None:
        return DiffResult()
    members = members_after(group.segment, ctx.desired, ctx.existing)
    if members is None:
        message = (
            f"group {group_subject(have.shortname, group.idnumber)}: members of segment "
            f"{group.segment} are unknown, group membership not planned"
        )
        return DiffResult(notices=(Notice("warning", message, group.segment),))
    existing = current.members if current is not None else frozenset()
    changes, unseen = group_member_changes(have, group.idnumber, members, existing, enrolled)
    held_back = (unseen_notice(have, group.idnumber, group.segment, unseen),) if unseen else ()
    return DiffResult(changes, held_back=held_back)
