"""What applying a plan reports: progress events, per-operation results, the site's report.

Values only: the executor (``plutoctl.apply.execute``) makes them, the verification
(``plutoctl.apply.verify``) reads them, and ``plutoctl.cli`` prints them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from plutoctl.plan.changes.kinds import KINDS, Step

STEP_NAMES: Mapping[Step, str] = {kind.step: kind.label for kind in KINDS}

FOLD = 20
"""Usernames shown per failed or skipped operation in the text summary."""


AGAIN = "run apply again (for a saved plan: make a new plan and apply it)"
"""How skipped work is finished; a saved plan partly applied no longer matches the site."""

INTERRUPTED = f"apply was interrupted before sending these; {AGAIN}"


@dataclass(frozen=True)
class ProgressEvent:
    """How far one step of one site has got."""

    site: str
    step: Step
    done: int
    total: int
    failed: int = 0
    """Items of the step that failed or were not sent: set when the step has ended."""
    ended: bool = False

    @property
    def is_complete(self) -> bool:
        """Return whether the step ended with every item done."""
        return self.ended and not self.failed

    def __str__(self) -> str:
        text = f"{self.site}: {STEP_NAMES[self.step]} {self.done:,}/{self.total:,}"
        if self.ended and self.failed:
            return f"{text} ({self.failed:,} failed or not sent: step not complete)"
        return text


@dataclass(frozen=True)
class OperationResult:
    """One step's outcome for one subject (segment ID, course, or ``COURSE/GROUP``).

    For a failure, ``errorcode`` and ``message`` come from the site (or name
    plutoctl's reason) and ``items`` holds the usernames (or the subject) it held.
    ``calls`` counts the calls that carried this subject's items; one call can carry
    several subjects, so the report's ``calls`` is the true total.
    """

    step: Step
    subject: str
    count: int
    calls: int = 0
    items: tuple[str, ...] = ()
    errorcode: str = ""
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "step": STEP_NAMES[self.step],
            "subject": self.subject,
            "count": self.count,
            "calls": self.calls,
        }
        if self.items:
            data["items"] = list(self.items)
        if self.errorcode:
            data["errorcode"] = self.errorcode
        if self.message:
            data["message"] = self.message
        return data

    def describe(self) -> str:
        """Return one line for people: what, which subject, why, and who."""
        shown = ", ".join(self.items[:FOLD])
        if len(self.items) > FOLD:
            shown += f", … ({len(self.items) - FOLD:,} more)"
        why = f"{self.errorcode}: {self.message}" if self.errorcode else self.message
        text = f"{STEP_NAMES[self.step]} {self.subject} ({self.count:,})"
        if why:
            text += f": {why}"
        if shown and self.items != (self.subject,):
            text += f" [{shown}]"
        return text


@dataclass(frozen=True)
class ApplyReport:
    """What applying one site's plan did, failed to do, and skipped."""

    site: str
    done: tuple[OperationResult, ...] = ()
    failed: tuple[OperationResult, ...] = ()
    skipped: tuple[OperationResult, ...] = ()
    calls: int = 0
    calls_by_function: Mapping[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    seconds_by_function: Mapping[str, float] = field(default_factory=dict)

    @property
    def is_success(self) -> bool:
        return not self.failed and not self.skipped

    def summary_line(self) -> str:
        """Return e.g. ``applied 1,204 of 1,241 items; 2 operation(s) failed, 3 skipped; …``."""
        done = sum(r.count for r in self.done)
        total = done + sum(r.count for r in self.failed) + sum(r.count for r in self.skipped)
        text = f"applied {done:,} of {total:,} items"
        if self.failed or self.skipped:
            text += f"; {len(self.failed)} operation(s) failed, {len(self.skipped)} skipped"
        return text + f"; {self.calls:,} API call(s)"

    def detail_lines(self) -> list[str]:
        """Return what was done per step, then one line per failed and skipped operation
        and per note."""
        per_step: Counter[Step] = Counter()
        for result in self.done:
            per_step[result.step] += result.count
        lines = []
        if per_step:
            parts = [f"{STEP_NAMES[s]} {n:,}" for s, n in sorted(per_step.items())]
            lines.append("done: " + "; ".join(parts))
        if self.calls_by_function:
            parts = [
                f"{f} {n:,} ({self.seconds_by_function.get(f, 0.0):.1f} s)"
                for f, n in sorted(self.calls_by_function.items())
            ]
            lines.append("calls: " + "; ".join(parts))
        lines += [f"failed: {r.describe()}" for r in self.failed]
        lines += [f"skipped: {r.describe()}" for r in self.skipped]
        lines += [f"note: {n}" for n in self.notes]
        return lines

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data (it never holds a token)."""
        return {
            "site": self.site,
            "success": self.is_success,
            "calls": self.calls,
            "calls_by_function": dict(sorted(self.calls_by_function.items())),
            "seconds_by_function": {
                f: round(n, 3) for f, n in sorted(self.seconds_by_function.items())
            },
            "done": [r.to_dict() for r in self.done],
            "failed": [r.to_dict() for r in self.failed],
            "skipped": [r.to_dict() for r in self.skipped],
            "notes": list(self.notes),
        }
