"""The markdown report: golden files, removals first, hidden usernames, the size limit."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from render_plans import empty_plan, hostile_plan, names, representative_plan

from plutoctl.plan.changes.kinds import AddSegmentMembers, DeleteSegment, RemoveSegmentMembers
from plutoctl.plan.changes.plans import Notice, Plan, Refusal, SitePlan
from plutoctl.plan.render import render
from plutoctl.plan.render.markdown import LIMIT, MARKER, render_markdown

Golden = Callable[[str, str], None]


def test_representative_plan(golden: Golden) -> None:
    golden("representative.md", render(representative_plan(), "markdown"))


def test_representative_plan_with_members(golden: Golden) -> None:
    text = render(representative_plan(), "markdown", show_members=True)
    golden("representative-members.md", text)
    assert "user025" in text  # nothing folded in markdown when members are shown


def test_no_changes(golden: Golden) -> None:
    golden("empty.md", render(empty_plan(), "markdown"))


def test_usernames_are_hidden_by_default() -> None:
    text = render(representative_plan(), "markdown")
    for username in ("asmith", "jdoe", "pking", "tnguyen", "ops001", "user001"):
        assert username not in text
    assert "25 members of dept\\-sales" not in text  # '-' is not escaped mid-line
    assert "25 members of dept-sales" in text


def test_removals_come_first_then_table_then_details() -> None:
    text = render(representative_plan(), "markdown")
    site = text[text.index("### Site demo") : text.index("### Site primary")]
    order = ["### Site demo", "⚠ Removals and deletions", "⛔ Refused", "❌ Errors",
             "| What | Count |", "<details><summary>All changes on demo"]  # fmt: skip
    positions = [site.index(item) for item in order]
    assert positions == sorted(positions)
    removals = site[site.index("⚠ Removals") : site.index("⛔ Refused")]
    assert removals.count("\n- ") == 5
    assert "segment old-empty" in removals
    assert "dept-sales" not in removals


def test_refusals_name_their_flag_as_code() -> None:
    text = render(representative_plan(), "markdown")
    assert "to allow: `--allow-removals dept-ops`" in text
    assert "to allow: `--allow-delete legacy`" in text


def test_special_characters_are_escaped() -> None:
    text = render(hostile_plan(), "markdown", show_members=True)
    assert "<script>" not in text
    assert "<img" not in text
    assert "<iframe" not in text
    assert "<i>" not in text
    assert "<b>" not in text
    assert "\x1b" not in text
    assert "&lt;script&gt;alert\\(1\\)&lt;/script&gt;" in text
    # A bare URL is broken with a zero-width space so that GitHub does not autolink it.
    assert "\\[link\\]\\(http&#8203;://evil.example\\)" in text
    assert "a\\|b" in text
    assert "\\*bold\\* \\`code\\`" in text
    # Only plutoctl's own tags remain.
    assert set(re.findall(r"</?([a-z]+)", text)) == {"details", "summary"}


def _huge_plan(*, sites: int, segments: int, members: int) -> Plan:
    def site(index: int) -> SitePlan:
        changes = []
        for n in range(segments):
            changes.append(AddSegmentMembers(f"seg-{n:05d}", names("add", members)))
        for n in range(segments):
            changes.append(RemoveSegmentMembers(f"seg-{n:05d}", names("rem", members), 10**6))
        return SitePlan(f"site-{index}", changes=tuple(changes), api_calls=segments)

    return Plan(sites=tuple(site(i) for i in range(sites)), config_path="big.yaml")


@pytest.mark.parametrize(
    ("segments", "is_shown"),
    [
        pytest.param(300, False, id="details-overflow"),
        pytest.param(300, True, id="members-overflow"),
        pytest.param(2500, False, id="removals-overflow"),
    ],
)
def test_huge_plans_are_truncated_with_a_visible_note(segments: int, is_shown: bool) -> None:
    plan = _huge_plan(sites=2, segments=segments, members=40)
    full = render_markdown(plan, show_members=is_shown, limit=10**9)
    text = render_markdown(plan, show_members=is_shown)
    assert len(full) > LIMIT
    assert len(text) <= LIMIT
    note = re.search(r"… truncated: ([\d,]+) more lines; run `plutoctl plan` locally", text)
    assert note is not None
    assert text.rstrip().endswith("for the full plan.**")
    # The structure survives: both sites, their summaries, balanced <details>.
    for name in ("site-0", "site-1"):
        assert f"### Site {name}" in text
    assert text.count("<details>") == text.count("</details>") == 2
    assert f"| Segment members to remove | {segments * 40:,} |" in text
    # The note counts exactly the lines that were left out.
    kept = [line for line in text.splitlines() if line != MARKER]
    kept = kept[:-2]  # the blank line and the note
    cut = int(note.group(1).replace(",", ""))
    assert len(full.splitlines()) - len(kept) == cut
    full_lines = set(full.splitlines())
    assert all(line in full_lines for line in kept)
    # Every site keeps some of its removals: the budget is shared between sections.
    for part in text.split("### Site ")[1:]:
        removals = part[part.index("⚠ Removals") : part.index("| What | Count |")]
        assert removals.count("\n- **-**") > 10


def test_removals_are_kept_before_details_when_truncating() -> None:
    text = render_markdown(_huge_plan(sites=1, segments=600, members=5), limit=60_000)
    removals = text[text.index("⚠ Removals") : text.index("| What | Count |")]
    assert removals.count("\n- **-**") == 600
    assert MARKER in text


def test_a_plan_that_fits_is_not_truncated() -> None:
    text = render(representative_plan(), "markdown")
    assert "truncated" not in text
    assert len(text) < LIMIT


def test_notices_name_no_user_without_show_members() -> None:
    """SPEC: usernames are hidden in the Markdown report unless --show-members; the
    notices that name users (unknown, kept though excluded) mask them."""
    kept = Notice(
        "warning",
        "segment team keeps 'bob', 'bo': excluded, but already a member",
        "segments.yaml:9:5",
        ("bob", "bo"),
    )
    unknown = Notice("error", "unknown user 'ghost' on site 'lab'", "m.csv:3", ("ghost",))
    plan = Plan(sites=(SitePlan(site="lab", errors=(unknown,), notices=(kept,)),))
    hidden = render(plan, "markdown")
    assert "bob" not in hidden and "ghost" not in hidden and "'bo'" not in hidden
    assert "keeps \\(a user\\), \\(a user\\)" in hidden and "m.csv:3" in hidden
    shown = render(plan, "markdown", show_members=True)
    assert "'bob', 'bo'" in shown and "'ghost'" in shown


def test_an_acknowledgement_notice_is_listed_once() -> None:
    unused = Notice("warning", "acknowledge.removals team: matches nothing in this plan")
    plan = Plan(sites=(SitePlan(site="lab", notices=(unused,)),))
    assert render(plan, "markdown").count("matches nothing in this plan") == 1


def test_a_dollar_sign_does_not_open_maths() -> None:
    """GitHub renders $…$ as maths: a segment named "Costs in US$ and $2" would lose text."""
    plan = Plan(sites=(SitePlan(site="lab", changes=(AddSegmentMembers("US$x$", ("ann",)),)),))
    shown = render(plan, "markdown")
    assert "US\\$x\\$" in shown and "US$x$" not in shown


def test_a_plan_of_too_many_sites_names_each_or_counts_what_it_cannot_show() -> None:
    """300 sites whose outlines alone pass the limit: a line a site, each removal
    flagged, and the sites past the limit counted by what they hold (text cut in the
    middle of a site, and a <details> left open, hid whole sites and their removals)."""
    plan = _huge_plan(sites=900, segments=1, members=3)
    text = render_markdown(plan)
    assert len(text) <= LIMIT
    assert text.count("<details>") == text.count("</details>")
    listed = re.findall(r"^- \*\*site-(\d+)\*\*: .* ⚠ 1 removal\(s\) or deletion\(s\)$", text, re.M)
    assert listed == [str(i) for i in range(len(listed))] and len(listed) > 100
    rest = len(plan.sites) - len(listed)
    assert rest > 0
    assert (
        f"… and {rest:,} more site(s) not listed: {rest:,} with removals or deletions, "
        "0 with refused changes, 0 with errors."
    ) in text
    assert "--site NAME" in text


def test_a_site_that_cannot_match_the_config_is_said_so_at_the_top_and_unfolded() -> None:
    """HTML led with NOT IN SYNC; the comment folded the error away in its notices."""
    clash = Notice("error", "group C1/g2 cannot be named 'Team': group g1 holds it", "C1")
    site = SitePlan("a", changes=(AddSegmentMembers("s2", ("ann",)),), notices=(clash,))
    text = render_markdown(Plan(sites=(site,)))
    assert "**⚠️ NOT IN SYNC on site(s) a: the config calls for changes" in text
    section = text[text.index("#### ❌ Not possible now") :]
    assert section.index(clash.message) < section.index("| What | Count |")
    assert "Held back and notices" not in text


def test_refusals_are_cut_last_and_the_gravest_kept() -> None:
    """1,500 small refused removals cut along with the removals, in plan order: the
    refused deletion of a 50-member segment and the refused 999-member removal, last in
    plan order, were never shown to the reviewer asked to acknowledge them."""
    small = [
        Refusal(RemoveSegmentMembers(f"seg-{n:04d}", names("rem", 2), 2), "2 of 2", "--x")
        for n in range(1500)
    ]
    grave = [
        Refusal(RemoveSegmentMembers("shrink", names("big", 999), 1000), "999 of 1000", "--x"),
        Refusal(DeleteSegment("legacy", 7, 50), "would delete segment legacy", "--x"),
    ]
    removals = tuple(RemoveSegmentMembers(f"rm-{n:04d}", names("r", 30), 99) for n in range(900))
    site = SitePlan("lab", changes=removals, refused=(*small, *grave))
    text = render_markdown(Plan(sites=(site,)))
    assert len(text) <= LIMIT
    refused = text[text.index("⛔ Refused") :]
    assert "segment legacy" in refused and "shrink" in refused
    assert refused.index("segment legacy") < refused.index("shrink") < refused.index("seg-0000")
    assert refused.count("\n- **-**") > text[: text.index("⛔ Refused")].count("\n- **-**")


def test_a_plan_of_many_failing_sites_names_ten_in_its_warning() -> None:
    """Every failing site named at the top took 69,479 characters for 3,000 sites."""
    error = Notice("error", "the site is down", "")
    sites = tuple(SitePlan(f"site-{n:05d}-{'x' * 10}", errors=(error,)) for n in range(3000))
    text = render_markdown(Plan(sites=sites))
    assert len(text) <= LIMIT
    assert "site-00009-xxxxxxxxxx and 2,990 more: nothing will be applied there" in text
