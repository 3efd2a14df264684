"""A site read in part is said so at the top of the HTML and Markdown reports."""

from __future__ import annotations

import pytest

from plutoctl.plan.changes.kinds import AddSegmentMembers
from plutoctl.plan.changes.plans import INCOMPLETE_READ, Notice, Plan, SitePlan
from plutoctl.plan.render import render

PARTIAL = Notice("warning", "members of segment s were not read", INCOMPLETE_READ)


def plan_of(*changes: AddSegmentMembers) -> Plan:
    return Plan(sites=(SitePlan(site="lab", changes=changes, notices=(PARTIAL,)),))


def test_html_never_says_every_site_matches_when_one_was_read_in_part() -> None:
    html = render(plan_of(), "html")
    assert "No changes: every site already matches the config." not in html
    assert "READ IN PART on site(s) lab" in html
    assert "<title>plutoctl plan: read in part</title>" in html


def test_html_with_changes_is_ready_and_says_the_read_was_partial() -> None:
    html = render(plan_of(AddSegmentMembers("s", ("ann",))), "html")
    assert "Ready to apply: no errors, nothing refused." in html
    assert "READ IN PART on site(s) lab" in html


@pytest.mark.parametrize("changes", [(), (AddSegmentMembers("s", ("ann",)),)])
def test_markdown_says_so_at_the_top(changes: tuple[AddSegmentMembers, ...]) -> None:
    text = render(plan_of(*changes), "markdown")
    assert "**⚠️ READ IN PART on site(s) lab: only what could be read is planned" in text
    assert text.index("READ IN PART") < text.index("### ")  # before the site's section


def test_html_never_says_every_site_matches_when_a_change_is_blocked() -> None:
    clash = Notice("error", "group C1/a not created or renamed: ...", "C1/a")
    html = render(Plan(sites=(SitePlan(site="lab", notices=(clash,)),)), "html")
    assert "No changes: every site already matches the config." not in html
    assert "NOT IN SYNC on site(s) lab" in html
    assert "<title>plutoctl plan: not in sync</title>" in html
