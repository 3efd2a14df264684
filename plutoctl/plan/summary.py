"""Counts of what a site's plan will do, and the one-line summary.

The summary counts only ``changes`` (what apply will do); refused changes and
held-back removals are reported beside it by the renderers. The counts are the
plan JSON's "Summary object" (docs/plan-format.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

from plutoctl.plan.changes.plans import SitePlan
from plutoctl.plan.changes.subjects import item_count

MINUS = "−"
"""The minus sign used in summaries (U+2212): ``+12 / −3 members``."""


@dataclass(frozen=True)
class SiteSummary:
    """How many objects and memberships a plan touches, by kind."""

    segments_create: int = 0
    segments_update: int = 0
    segments_delete: int = 0
    members_add: int = 0
    members_remove: int = 0
    groups_create: int = 0
    groups_update: int = 0
    groups_delete: int = 0
    group_members_add: int = 0
    group_members_remove: int = 0
    enrol: int = 0
    unenrol: int = 0
    api_calls: int = 0

    @property
    def is_empty(self) -> bool:
        """Return whether the summary counts no change at all (API calls aside)."""
        return not any(getattr(self, f.name) for f in fields(self) if f.name != "api_calls")

    def __add__(self, other: SiteSummary) -> SiteSummary:
        return SiteSummary(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def as_dict(self) -> dict[str, int]:
        """Return the counts keyed by field name, in declaration order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def line(self, label: str = "Plan") -> str:
        """Return ``Plan: 2 segments to create, …`` or ``No changes.`` when empty.

        Segment and member counts always show; the group, group-member and
        enrolment parts only when they are not zero.
        """
        if self.is_empty:
            return "No changes."
        parts = [
            _counted("segment", (self.segments_create, self.segments_update, self.segments_delete)),
            f"+{self.members_add:,} / {MINUS}{self.members_remove:,} members",
        ]
        groups = (self.groups_create, self.groups_update, self.groups_delete)
        if any(groups):
            parts.append(_counted("group", groups, skip_zero=True))
        if self.group_members_add or self.group_members_remove:
            parts.append(
                f"+{self.group_members_add:,} / {MINUS}{self.group_members_remove:,} group members"
            )
        if self.enrol or self.unenrol:
            parts.append(f"+{self.enrol:,} / {MINUS}{self.unenrol:,} enrolments")
        return f"{label}: " + "; ".join(parts) + "."


SUMMARY_LABELS = (
    ("segments_create", "Segments to create"),
    ("segments_update", "Segments to update"),
    ("segments_delete", "Segments to delete"),
    ("members_add", "Segment members to add"),
    ("members_remove", "Segment members to remove"),
    ("groups_create", "Groups to create"),
    ("groups_update", "Groups to update"),
    ("groups_delete", "Groups to delete"),
    ("group_members_add", "Group members to add"),
    ("group_members_remove", "Group members to remove"),
    ("enrol", "Users to enrol"),
    ("unenrol", "Users to unenrol"),
)
"""How the reports label each count of a SiteSummary, in the kind table's order."""


def _counted(noun: str, counts: tuple[int, int, int], *, skip_zero: bool = False) -> str:
    """Return ``2 segments to create, 1 to update, 0 to delete`` (noun on the first)."""
    verbs = ("create", "update", "delete")
    shown = [(n, v) for n, v in zip(counts, verbs, strict=True) if n or not skip_zero]
    words = []
    for index, (count, verb) in enumerate(shown):
        if index == 0:
            words.append(f"{plural(count, noun)} to {verb}")
        else:
            words.append(f"{count:,} to {verb}")
    return ", ".join(words)


def plural(count: int, noun: str) -> str:
    """Return ``1 member`` / ``1,204 members``: the count and the noun as English wants."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def summarize(site_plan: SitePlan) -> SiteSummary:
    """Count the changes of one site's plan by kind."""
    counts = dict.fromkeys((f.name for f in fields(SiteSummary)), 0)
    for change in site_plan.changes:
        counts[change.kind.summary] += item_count(change)
    counts["api_calls"] = site_plan.api_calls
    return SiteSummary(**counts)


def total(summaries: Iterable[SiteSummary]) -> SiteSummary:
    """Add up the summaries of several sites."""
    result = SiteSummary()
    for summary in summaries:
        result = result + summary
    return result
