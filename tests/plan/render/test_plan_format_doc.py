"""docs/plan-format.md stays true to the format.

Its action table, summary table and JSON example follow from the change table; run
``PLUTOCTL_REGEN=1 pytest tests/plan/render/test_plan_format_doc.py`` to make them
current (then run it again, and review the diff).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from plutoctl.plan.render.json import ACTIONS, plan_from_dict, plan_to_dict
from plutoctl.plan.render.reference import (
    action_table,
    regenerated,
    summary_table,
    with_action_table,
    with_example,
    with_summary_table,
)
from plutoctl.plan.summary import SiteSummary

DOC = Path(__file__).parents[3] / "docs" / "plan-format.md"
REGEN = "PLUTOCTL_REGEN=1 pytest tests/plan/render/test_plan_format_doc.py"


def _text() -> str:
    text = DOC.read_text(encoding="utf-8")
    if os.environ.get("PLUTOCTL_REGEN"):
        DOC.write_text(regenerated(text), encoding="utf-8")
    return text


def test_example_is_a_valid_plan_written_exactly_as_plutoctl_writes_it() -> None:
    text = _text()
    block = re.search(r"```json\n(.*?)\n```", text, re.DOTALL)
    assert block is not None
    data = json.loads(block.group(1))
    plan = plan_from_dict(data)
    assert plan_to_dict(plan) == data, f"docs/plan-format.md's example is out of date: {REGEN}"
    assert text == with_example(text), f"docs/plan-format.md's example is out of date: {REGEN}"


def test_every_action_and_summary_key_is_documented() -> None:
    text = _text()
    for action in ACTIONS.values():
        assert f"`{action}`" in text, f"`{action}` is not documented: {REGEN}"
    for key in SiteSummary().as_dict():
        assert f"`{key}`" in text, f"`{key}` is not documented: {REGEN}"


def test_the_action_table_is_generated_from_the_kind_table() -> None:
    text = _text()
    current = with_action_table(text)
    assert action_table() in text, f"docs/plan-format.md's action table is out of date: {REGEN}"
    assert text == current, f"docs/plan-format.md's action table is out of date: {REGEN}"


def test_the_summary_table_is_generated_from_the_kind_table() -> None:
    text = _text()
    assert summary_table() in text, f"docs/plan-format.md's summary table is out of date: {REGEN}"
    assert text == with_summary_table(text), (
        f"docs/plan-format.md's summary table is out of date: {REGEN}"
    )
    rows = summary_table().splitlines()[2:]
    assert [row.split(" | ")[0].strip("| `") for row in rows] == list(SiteSummary().as_dict())
