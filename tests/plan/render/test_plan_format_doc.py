"""docs/plan-format.md stays true to the format."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from plutoctl.plan.render.json import ACTIONS, plan_from_dict, plan_to_dict
from plutoctl.plan.render.reference import action_table, with_action_table
from plutoctl.plan.summary import SiteSummary

DOC = Path(__file__).parents[3] / "docs" / "plan-format.md"


def _text() -> str:
    return DOC.read_text(encoding="utf-8")


def test_example_is_a_valid_plan_written_exactly_as_plutoctl_writes_it() -> None:
    block = re.search(r"```json\n(.*?)\n```", _text(), re.DOTALL)
    assert block is not None
    data = json.loads(block.group(1))
    plan = plan_from_dict(data)
    assert plan_to_dict(plan) == data


def test_every_action_and_summary_key_is_documented() -> None:
    text = _text()
    for action in ACTIONS.values():
        assert f"`{action}`" in text
    for key in SiteSummary().as_dict():
        assert f"`{key}`" in text


def test_the_action_table_is_generated_from_the_kind_table() -> None:
    text = _text()
    current = with_action_table(text)
    if os.environ.get("PLUTOCTL_REGEN"):
        DOC.write_text(current, encoding="utf-8")
    assert action_table() in text
    assert text == current, (
        "docs/plan-format.md's action table is out of date: "
        "PLUTOCTL_REGEN=1 pytest tests/plan/render/test_plan_format_doc.py"
    )
