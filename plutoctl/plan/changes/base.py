"""What the change kinds share: the shape of a row of their table, targets and signs, a
group's name, the membership check.

The kinds (``kinds.py``) build on these; nothing here knows one kind from another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from plutoctl.plan.changes.kinds import Change, Step

FieldChanges = tuple[tuple[str, object, object], ...]
"""``((field, old, new), …)`` sorted by field name."""

Sign = Literal["+", "~", "-"]

FOLD_AT = 20
"""Usernames shown per change before the rest are folded (without --show-members)."""


class Target(StrEnum):
    """The object a change names: a segment, a course's group, or a course's enrolments."""

    SEGMENT = "segment"
    GROUP = "group"
    COURSE = "course"


@dataclass(frozen=True)
class Kind:
    """What is true of every change of one class: the one place a kind is described.

    ``target`` is the object it names (``subject`` follows from it); ``sign`` is ``+``
    for what it adds, ``~`` for an update in place, ``-`` for a removal;
    ``lists_users``: it carries ``usernames``, each an item of its own (otherwise the
    object is its one item); apply runs ``phase`` after ``phase``, the steps of one
    phase together; ``summary`` is the key of its count in the plan's summary (a key of
    the plan JSON's summary object, in table order) and ``summary_label`` how the
    reports' summary tables name that count; ``function`` is the web-service function
    that writes it (``plutoctl.lms.functions``), one of its own (the estimate counts
    calls by function);
    ``fingerprints`` name the existing state a saved plan must find unchanged before
    apply runs the change (``plutoctl.plan.fingerprint``); ``notes`` say what a field
    of its JSON form holds where the field's name does not (docs/plan-format.md).
    """

    change: type[Change]
    step: Step
    target: Target
    sign: Sign
    lists_users: bool
    phase: int
    summary: str
    summary_label: str
    function: str
    fingerprints: tuple[str, ...]
    notes: tuple[tuple[str, str], ...] = ()

    @property
    def action(self) -> str:
        """Return the kind's name in the plan JSON: its step's, ``add_segment_members``."""
        return self.step.name.lower()

    @property
    def label(self) -> str:
        """Return how apply's report and progress name the kind: ``add segment members``."""
        return self.action.replace("_", " ")

    @property
    def is_removal(self) -> bool:
        """Return whether the kind deletes an object or takes people out of one."""
        return self.sign == "-"

    @property
    def removes_users(self) -> bool:
        """Return whether the kind takes users out of a segment, a group or a course."""
        return self.is_removal and self.lists_users


def group_subject(course: str, idnumber: str) -> str:
    """Return ``COURSE/GROUP``, the one name of a group on the command line and in reports."""
    return f"{course}/{idnumber}"


def membership_differences(
    what: str, sign: Sign, done: Sequence[str], members: frozenset[str]
) -> list[str]:
    """Return, for a change that adds (``+``) or removes ``done`` users, those the re-read
    ``members`` of ``what`` contradict: ``2 user(s) not in segment s: a, b``."""
    is_add = sign == "+"
    wrong = [u for u in done if (u in members) != is_add]
    if not wrong:
        return []
    state = "not in" if is_add else "still in"
    shown = ", ".join(wrong[:FOLD_AT]) + (" …" if len(wrong) > FOLD_AT else "")
    return [f"{len(wrong):,} user(s) {state} {what}: {shown}"]
