"""Counts of what a site's plan will do, and the one-line summary.

The summary counts only ``changes`` (what apply will do); refused changes and
held-back removals are reported beside it by the renderers. Its counts follow the
change table: one per row of ``KINDS``, in table order, under the row's ``summary``
key and ``summary_label``, then the estimated API calls. They are the plan JSON's
"Summary object" (docs/plan-format.md, whose summary table is generated from them).

The one-line summary names today's kinds in words of its own (``HEADLINE``). A kind
it does not name is shown after them by its label and count (``groups to rename:
3``), only when not zero, so that no kind is ever left out of the line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from plutoctl.plan.changes.kinds import (
    KINDS,
    AddGroupMembers,
    AddSegmentMembers,
    Change,
    CreateGroup,
    CreateSegment,
    DeleteGroup,
    DeleteSegment,
    Enrol,
    RemoveGroupMembers,
    RemoveSegmentMembers,
    Unenrol,
    UpdateGroup,
    UpdateSegment,
)
from plutoctl.plan.changes.plans import SitePlan
from plutoctl.plan.changes.subjects import item_count

MINUS = "−"
"""The minus sign used in summaries (U+2212): ``+12 / −3 members``."""

_KEYS = tuple(kind.summary for kind in KINDS)
_INDEX: dict[type, int] = {kind.change: index for index, kind in enumerate(KINDS)}

SUMMARY_LABELS = tuple((kind.summary, kind.summary_label) for kind in KINDS)
"""How the reports label each count of a SiteSummary, in the kind table's order."""


@dataclass(frozen=True)
class _Objects:
    """``2 segments to create, 1 to update, 0 to delete``: the objects a plan makes,
    changes and deletes; when not ``is_always_shown``, only the counts not zero."""

    noun: str
    create: type[Change]
    update: type[Change]
    delete: type[Change]
    is_always_shown: bool = False

    @property
    def kinds(self) -> tuple[type[Change], ...]:
        return (self.create, self.update, self.delete)

    def is_shown(self, summary: SiteSummary) -> bool:
        return self.is_always_shown or any(summary.count(kind) for kind in self.kinds)

    def words(self, summary: SiteSummary) -> str:
        counted = zip(map(summary.count, self.kinds), ("create", "update", "delete"), strict=True)
        shown = [(n, verb) for n, verb in counted if n or self.is_always_shown]
        (count, verb), rest = shown[0], shown[1:]
        first = f"{plural(count, self.noun)} to {verb}"
        return ", ".join([first, *(f"{n:,} to {v}" for n, v in rest)])


@dataclass(frozen=True)
class _Members:
    """``+12 / −3 members``: the users a plan adds and removes, both counts shown."""

    noun: str
    add: type[Change]
    remove: type[Change]
    is_always_shown: bool = False

    @property
    def kinds(self) -> tuple[type[Change], ...]:
        return (self.add, self.remove)

    def is_shown(self, summary: SiteSummary) -> bool:
        return self.is_always_shown or any(summary.count(kind) for kind in self.kinds)

    def words(self, summary: SiteSummary) -> str:
        added, removed = summary.count(self.add), summary.count(self.remove)
        return f"+{added:,} / {MINUS}{removed:,} {self.noun}"


HeadlinePart = _Objects | _Members

HEADLINE: tuple[HeadlinePart, ...] = (
    _Objects("segment", CreateSegment, UpdateSegment, DeleteSegment, is_always_shown=True),
    _Members("members", AddSegmentMembers, RemoveSegmentMembers, is_always_shown=True),
    _Objects("group", CreateGroup, UpdateGroup, DeleteGroup),
    _Members("group members", AddGroupMembers, RemoveGroupMembers),
    _Members("enrolments", Enrol, Unenrol),
)
"""The parts of the one-line summary, in order, each naming the kinds it counts."""


@dataclass(frozen=True)
class SiteSummary:
    """How many objects and memberships a plan touches, by kind.

    ``counts`` holds one count per row of ``KINDS``, in table order; ``count`` reads
    the one of a change class, ``of`` builds a summary from the plan JSON's keys.
    """

    counts: tuple[int, ...] = (0,) * len(KINDS)
    api_calls: int = 0

    def __post_init__(self) -> None:
        if len(self.counts) != len(KINDS):
            raise ValueError(f"a summary holds {len(KINDS)} counts, not {len(self.counts)}")

    @classmethod
    def of(cls, *, api_calls: int = 0, **counts: int) -> SiteSummary:
        """Return the summary of ``counts`` keyed as the plan JSON keys them
        (``members_add=3``); a count not given is 0."""
        unknown = sorted(set(counts) - set(_KEYS))
        if unknown:
            raise TypeError(f"no summary count is named {', '.join(unknown)}")
        return cls(tuple(counts.get(key, 0) for key in _KEYS), api_calls)

    def count(self, change: type[Change]) -> int:
        """Return how many objects or users the changes of ``change``'s kind touch."""
        return self.counts[_INDEX[change]]

    @property
    def is_empty(self) -> bool:
        """Return whether the summary counts no change at all (API calls aside)."""
        return not any(self.counts)

    def __add__(self, other: SiteSummary) -> SiteSummary:
        counts = tuple(a + b for a, b in zip(self.counts, other.counts, strict=True))
        return SiteSummary(counts, self.api_calls + other.api_calls)

    def as_dict(self) -> dict[str, int]:
        """Return the counts keyed by their kinds' ``summary``, in table order, then
        ``api_calls``: the plan JSON's summary object."""
        return {**dict(zip(_KEYS, self.counts, strict=True)), "api_calls": self.api_calls}

    def line(self, label: str = "Plan", *, headline: Sequence[HeadlinePart] = HEADLINE) -> str:
        """Return ``Plan: 2 segments to create, …`` or ``No changes.`` when empty.

        Segment and member counts always show; the group, group-member and
        enrolment parts only when they are not zero, as does each kind the
        ``headline`` does not name: ``groups to rename: 3``.
        """
        if self.is_empty:
            return "No changes."
        named = {kind for part in headline for kind in part.kinds}
        words = [part.words(self) for part in headline if part.is_shown(self)]
        words += [
            f"{kind.summary_label.lower()}: {self.count(kind.change):,}"
            for kind in KINDS
            if kind.change not in named and self.count(kind.change)
        ]
        return f"{label}: " + "; ".join(words) + "."


def plural(count: int, noun: str) -> str:
    """Return ``1 member`` / ``1,204 members``: the count and the noun as English wants."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def summarize(site_plan: SitePlan) -> SiteSummary:
    """Count the changes of one site's plan by kind."""
    counts = [0] * len(KINDS)
    for change in site_plan.changes:
        counts[_INDEX[type(change)]] += item_count(change)
    return SiteSummary(tuple(counts), site_plan.api_calls)


def total(summaries: Iterable[SiteSummary]) -> SiteSummary:
    """Add up the summaries of several sites."""
    result = SiteSummary()
    for summary in summaries:
        result = result + summary
    return result
