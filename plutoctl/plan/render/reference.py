"""Generate the action table of docs/plan-format.md from the change table (``KINDS``).

One row per kind, in step order: its step, its action, and the keys of its JSON form
in the order ``change_to_dict`` writes them (``count`` after ``usernames``), each
with what its row's ``notes`` say of it. A new kind's row appears when the page is
regenerated: ``PLUTOCTL_REGEN=1 pytest tests/plan/render/test_plan_format_doc.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from plutoctl.plan.changes.base import Kind
from plutoctl.plan.changes.kinds import KINDS

HEADER = "| step | `action` | fields |\n|---|---|---|\n"


def action_table() -> str:
    """Return the markdown table of every action and its fields."""
    rows = [
        f"| {int(kind.step)} | `{kind.action}` | {', '.join(_keys(kind))} |\n"
        for kind in sorted(KINDS, key=lambda k: k.step)
    ]
    return HEADER + "".join(rows)


def with_action_table(page: str) -> str:
    """Return ``page`` (docs/plan-format.md) with its action table made current."""
    start = page.index(HEADER)
    end = start
    for line in page[start:].splitlines(keepends=True):
        if not line.startswith("|"):
            break
        end += len(line)
    return page[:start] + action_table() + page[end:]


def _keys(kind: Kind) -> Iterator[str]:
    notes = dict(kind.notes)
    names = [f.name for f in dataclasses.fields(kind.change) if f.init]
    unknown = sorted(set(notes) - set(names))
    if unknown:
        raise ValueError(f"{kind.action}: notes name no field: {', '.join(unknown)}")
    for name in names:
        yield f"`{name}` ({notes[name]})" if name in notes else f"`{name}`"
        if name == "usernames":
            yield "`count`"
