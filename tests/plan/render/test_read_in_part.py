"""A site read in part is said so at the top of the HTML and Markdown reports."""

from __future__ import annotations

import pytest

from plutoctl.plan.changes.kinds import AddSegmentMembers, RemoveSegmentMembers
from plutoctl.plan.changes.plans import INCOMPLETE_READ, Notice, Plan, Refusal, SitePlan
from plutoctl.plan.render import render

PARTIAL = Notice("warning", "members of segment s were not read", INCOMPLETE_READ)


def plan_of(*changes: AddSegmentMembers) -> Plan:
    return Plan(sites=(SitePlan(site="lab", changes=changes, notices=(PARTIAL,)),))


def test_html_never_says_every_site_matches_when_one_was_read_in_part() -> None:
    html = render(plan_of(), "html")
    assert "No changes: every site already matches the config." not in html
    assert "READ IN PART on site(s) lab" in html
    assert "<title>plutoctl plan: READ IN PART on site(s) lab</title>" in html


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
    assert "<title>plutoctl plan: NOT IN SYNC on site(s) lab</title>" in html


IN_SYNC = SitePlan(site="north")
NOT_IN_SYNC = {
    "errors": SitePlan(site="south", errors=(Notice("error", "unknown user 'x'"),)),
    "refused": SitePlan(
        site="south",
        refused=(Refusal(RemoveSegmentMembers("s", ("ann", "bob"), 3), "too many", "--allow"),),
    ),
    "read in part": SitePlan(site="south", notices=(PARTIAL,)),
}


@pytest.mark.parametrize("other", list(NOT_IN_SYNC.values()), ids=list(NOT_IN_SYNC))
@pytest.mark.parametrize("form", ["text", "markdown", "html"])
def test_the_total_of_sites_not_all_in_sync_is_not_no_changes(form: str, other: SitePlan) -> None:
    """The total said "No changes." under a site stopped by errors or refusals."""
    shown = render(Plan(sites=(IN_SYNC, other)), form)
    assert "Total: nothing to apply, yet not every site matches the config" in shown
    # "No changes." is said of the site in sync only, not of the plan.
    assert "**No changes.**" not in shown  # markdown's total
    assert shown.count("<strong>No changes.</strong>") == (1 if form == "html" else 0)
    if form == "text":
        assert "\nNo changes.\n" not in shown  # text's total


@pytest.mark.parametrize("form", ["text", "markdown", "html"])
def test_the_total_of_sites_all_in_sync_is_no_changes(form: str) -> None:
    shown = render(Plan(sites=(IN_SYNC, SitePlan(site="south"))), form)
    assert "No changes." in shown
    assert "not every site matches" not in shown


def test_the_html_title_leads_with_the_read_in_part_before_another_site_s_changes() -> None:
    ready = SitePlan(site="north", changes=(AddSegmentMembers("s", ("ann",)),))
    html = render(Plan(sites=(ready, NOT_IN_SYNC["read in part"])), "html")
    assert "<title>plutoctl plan: READ IN PART on site(s) south</title>" in html
