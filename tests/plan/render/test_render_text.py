"""The text report: golden files and the folding, colour and escaping rules."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from render_plans import empty_plan, hostile_plan, members_plan, representative_plan

from plutoctl.errors import UsageError
from plutoctl.plan.changes.kinds import RemoveSegmentMembers
from plutoctl.plan.changes.plans import Plan, Refusal, SitePlan
from plutoctl.plan.render import render

Golden = Callable[[str, str], None]


def test_representative_plan(golden: Golden) -> None:
    golden("representative.txt", render(representative_plan(), "text"))


def test_representative_plan_with_members(golden: Golden) -> None:
    golden("representative-members.txt", render(representative_plan(), "text", show_members=True))


def test_no_changes(golden: Golden) -> None:
    text = render(empty_plan(), "text")
    golden("empty.txt", text)
    assert text.splitlines()[-1] == "No changes."
    assert "site demo: No changes." in text
    assert "site primary: No changes." in text


def test_single_empty_site_says_no_changes() -> None:
    plan = Plan(sites=(SitePlan("demo"),))
    assert render(plan, "text") == "site demo: No changes.\n"


def test_changes_follow_plan_order() -> None:
    text = render(representative_plan(), "text")
    order = [
        "+ segment dept-sales",
        "~ segment dept-hr",
        "+ group ONBOARD-101/onboard-sales",
        "~ group ONBOARD-101/onboard-hr",
        "+ 3 members of dept-sales",
        "+ enrol 2 users in ONBOARD-101 as student",
        "+ 2 members of group ONBOARD-101/onboard-sales",
        "- 1 member of group ONBOARD-101/onboard-hr",
        "- unenrol 1 user from ONBOARD-101",
        "- 2 members of dept-hr",
        "- group ONBOARD-101/old-group",
        "- segment old-empty",
        "Refused",
        "Held back:",
        "Notices:",
        "Errors:",
        "Plan: 1 segment to create",
        "Estimated API calls: 14",
        "site primary:",
        "Total: 2 segments to create",
    ]
    positions = [text.index(item) for item in order]
    assert positions == sorted(positions)


def test_refusal_names_its_flag() -> None:
    text = render(representative_plan(), "text")
    assert "! - segment legacy (14 members)" in text
    assert "to allow: --allow-delete legacy" in text
    assert "to allow: --allow-removals dept-ops" in text
    assert "the plan is unsafe" in text


@pytest.mark.parametrize(
    ("count", "is_folded"),
    [pytest.param(20, False, id="20-shown"), pytest.param(21, True, id="21-folded")],
)
def test_folding_beyond_20(count: int, is_folded: bool) -> None:
    text = render(members_plan(count), "text")
    assert "u020" in text
    assert (f"u{count:03d}" in text) is not is_folded
    assert ("… and 1 more (use --show-members)" in text) is is_folded


def test_folding_shows_thousands_and_show_members_lists_all() -> None:
    folded = render(members_plan(1204), "text")
    assert "+ 1,204 members of dept-sales:" in folded
    assert "… and 1,184 more (use --show-members)" in folded
    assert "u021" not in folded
    full = render(members_plan(1204), "text", show_members=True)
    assert "more (use --show-members)" not in full
    assert all(f"u{i:03d}" in full for i in range(1, 1205))


def test_golden_fold_edges(golden: Golden) -> None:
    golden("fold-20.txt", render(members_plan(20), "text"))
    golden("fold-21.txt", render(members_plan(21), "text"))


def test_colour_only_when_asked() -> None:
    plain = render(representative_plan(), "text")
    assert "\x1b[" not in plain
    coloured = render(representative_plan(), "text", colour=True)
    assert "\x1b[32m  + segment dept-sales\x1b[0m" in coloured
    assert "\x1b[33m  ~ segment dept-hr\x1b[0m" in coloured
    assert "\x1b[31m  - segment old-empty (0 members)\x1b[0m" in coloured
    # Without the escapes, the coloured text is the plain text.
    stripped = coloured
    for code in ("\x1b[32m", "\x1b[33m", "\x1b[31m", "\x1b[1;31m", "\x1b[0m"):
        stripped = stripped.replace(code, "")
    assert stripped == plain


def test_control_characters_in_names_are_made_visible() -> None:
    text = render(hostile_plan(), "text")
    assert "\x1b" not in text
    assert "\\x1b[31mred" in text
    assert 'name: "x\\"><img src=x onerror=alert(1)>"' in text


def test_unknown_format_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown plan format 'yaml'"):
        render(empty_plan(), "yaml")  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_a_site_whose_every_change_is_refused_is_not_headed_no_changes(fmt: str) -> None:
    removal = RemoveSegmentMembers("team", ("ann", "bob", "cid"), 4)
    refused = Refusal(removal, "would remove 3 of 4 members", "--allow-removals team")
    out = render(Plan(sites=(SitePlan("lab", refused=(refused,)),)), fmt)
    assert "every change is refused" in out
    assert "No changes." not in out


@pytest.mark.parametrize("fmt", ["text", "html"])
def test_a_plan_of_many_failing_sites_names_ten_in_its_verdict(fmt: str) -> None:
    """Every failing site was named: 3,000 of them filled the verdict line."""
    from plutoctl.plan.changes.plans import Notice

    error = Notice("error", "the site is down", "")
    sites = tuple(SitePlan(f"site-{n:05d}", errors=(error,)) for n in range(3000))
    text = render(Plan(sites=sites), fmt)
    assert "site-00009 and 2,990 more: nothing will be applied there" in text
    assert "site-00010, " not in text[: text.index("2,990 more")]
