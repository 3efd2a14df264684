"""Generate the parts of docs/plan-format.md that follow from the change table (``KINDS``).

- The action table: one row per kind, in step order: its step, its action, and the
  keys of its JSON form in the order ``change_to_dict`` writes them (``count`` after
  ``usernames``), each with what its row's ``notes`` say of it.
- The summary table: one row per count of the summary object, in its order: each
  kind's ``summary`` key, what it counts and its ``summary_label``, then
  ``api_calls``.
- The example: the plan JSON as plutoctl writes the example's plan, so that its
  summary objects hold every count.

A new kind appears in all three when the page is regenerated:
``PLUTOCTL_REGEN=1 pytest tests/plan/render/test_plan_format_doc.py``.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator

from plutoctl.plan.changes.base import Kind
from plutoctl.plan.changes.kinds import KINDS
from plutoctl.plan.render.json import plan_from_dict, plan_to_dict

HEADER = "| step | `action` | fields |\n|---|---|---|\n"
SUMMARY_HEADER = "| key | counts | label in reports |\n|---|---|---|\n"
API_CALLS_ROW = "| `api_calls` | the estimated web-service calls | Estimated API calls |\n"
_EXAMPLE = re.compile(r"```json\n(.*?)\n```", re.DOTALL)


def action_table() -> str:
    """Return the markdown table of every action and its fields."""
    rows = [
        f"| {int(kind.step)} | `{kind.action}` | {', '.join(_keys(kind))} |\n"
        for kind in sorted(KINDS, key=lambda k: k.step)
    ]
    return HEADER + "".join(rows)


def summary_table() -> str:
    """Return the markdown table of every count of the summary object, in its order."""
    rows = [f"| `{kind.summary}` | {_counted(kind)} | {kind.summary_label} |\n" for kind in KINDS]
    return SUMMARY_HEADER + "".join(rows) + API_CALLS_ROW


def with_action_table(page: str) -> str:
    """Return ``page`` (docs/plan-format.md) with its action table made current."""
    return _with_table(page, HEADER, action_table())


def with_summary_table(page: str) -> str:
    """Return ``page`` with its summary table made current."""
    return _with_table(page, SUMMARY_HEADER, summary_table())


def with_example(page: str) -> str:
    """Return ``page`` with its JSON example written as plutoctl writes the plan it holds."""
    found = _EXAMPLE.search(page)
    if found is None:
        raise ValueError("the page has no JSON example")
    plan = plan_from_dict(json.loads(found.group(1)))
    written = json.dumps(plan_to_dict(plan), indent=2, ensure_ascii=False)
    return page[: found.start(1)] + written + page[found.end(1) :]


def regenerated(page: str) -> str:
    """Return ``page`` with every part that follows from the change table made current."""
    return with_example(with_summary_table(with_action_table(page)))


def _with_table(page: str, header: str, table: str) -> str:
    start = page.index(header)
    end = start
    for line in page[start:].splitlines(keepends=True):
        if not line.startswith("|"):
            break
        end += len(line)
    return page[:start] + table + page[end:]


def _counted(kind: Kind) -> str:
    """Return what a kind's count counts: ``one per `create_segment` change``."""
    if kind.lists_users:
        return f"the usernames of `{kind.action}` changes"
    return f"one per `{kind.action}` change"


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
