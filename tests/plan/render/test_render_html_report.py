"""The HTML report tells the truth: a verdict as prominent as markdown's, every change
kind in its chart (refused ones too), no JSON escapes; golden files for a plain, a
refused and a multi-site plan (each also looked at in headless Chromium)."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from render_plans import CREATED_AT, every_change_site, names, representative_plan

from plutoctl.model import SegmentFields
from plutoctl.plan.changes.kinds import (
    KINDS,
    AddGroupMembers,
    CreateSegment,
    RemoveSegmentMembers,
    UpdateSegment,
)
from plutoctl.plan.changes.plans import Plan, Refusal, SitePlan
from plutoctl.plan.render import render


def plain_plan() -> Plan:
    """One site, every change kind, nothing refused, no errors."""
    site = dataclasses.replace(every_change_site(), refused=(), errors=())
    return Plan(sites=(site,), config_path="segments.yaml", created_at=CREATED_AT)


def refused_plan() -> Plan:
    """One site whose removals are refused as unsafe, with quotes in a name."""
    site = SitePlan(
        site="demo",
        changes=(
            CreateSegment("quotes", SegmentFields('The "A" team', 'say "hi"', True)),
            UpdateSegment("dept-hr", 12, SegmentFields("HR", "", True), (("name", 'a"b', "HR"),)),
            AddGroupMembers("C101", "g1", ("ann", "bob")),
        ),
        refused=(
            Refusal(
                RemoveSegmentMembers("dept-ops", names("ops", 6), 8),
                "removes 6 of 8 members (75%), over policy.max_removals 25%",
                "--allow-removals dept-ops",
            ),
        ),
        api_calls=3,
    )
    return Plan(sites=(site,), config_path="segments.yaml", created_at=CREATED_AT)


PLANS: dict[str, Callable[[], Plan]] = {
    "plain": plain_plan,
    "refused": refused_plan,
    "multi-site": representative_plan,
}


def _parse(text: str) -> ET.Element:
    return ET.fromstring(text.removeprefix("<!DOCTYPE html>\n"))


@pytest.mark.parametrize("name", PLANS)
def test_html_golden(name: str, golden: Callable[[str, str], None]) -> None:
    golden(f"{name}.html", render(PLANS[name](), "html"))


def test_a_refused_plan_says_so_first_and_in_the_title() -> None:
    text = render(refused_plan(), "html")
    root = _parse(text)
    assert root.findtext("head/title") == "plutoctl plan: REFUSED as unsafe"
    first = root.find("body/p[@class='verdict refused']")
    assert first is not None
    assert "REFUSED as unsafe: 1 change(s) need acknowledgement" in first.text
    body = list(root.find("body"))
    assert body.index(first) < body.index(root.find("body/section"))  # before any site
    # Both ways to allow it, as text and Markdown give them: the flag, and the config's
    # reviewed acknowledge: entry (the way docs/ci.md recommends).
    [refused] = [refusal for site in refused_plan().sites for refusal in site.refused]
    allowed = "".join(root.find(".//ul[@class='changes refused']").itertext())
    assert f"to allow: {refused.acknowledge}, or in the config: acknowledge: " in allowed


def test_plain_and_errored_plans_have_their_own_verdicts() -> None:
    plain = _parse(render(plain_plan(), "html"))
    assert plain.find("body/p[@class='verdict ready']") is not None
    multi = _parse(render(representative_plan(), "html"))
    classes = [p.get("class") for p in multi.findall("body/p") if "verdict" in p.get("class", "")]
    assert classes == ["verdict refused", "verdict errors"]


def test_the_chart_shows_every_change_kind_and_refused_ones() -> None:
    root = _parse(render(representative_plan(), "html"))
    demo = root.find("body/section")
    kinds = {g.findtext("title") for g in demo.findall("div[@class='kinds']/svg/g")}
    for label in (
        "Segments to create: 1 planned",
        "Group members to add: 2 planned",
        "Group members to remove: 1 planned",
        "Users to enrol: 2 planned",
        "Users to unenrol: 1 planned",
        "Segment members to remove: 2 planned, 6 refused",
        "Segments to delete: 1 planned, 1 refused",
    ):
        assert label in kinds, kinds
    shown = {title.split(":")[0] for title in kinds}
    missing = [k.summary_label for k in KINDS if k.summary_label not in shown]
    assert not missing, f"the chart shows no {', '.join(missing)}"
    assert len(kinds) == len(KINDS)  # every kind the summary counts


def test_no_json_escapes_are_shown() -> None:
    text = render(refused_plan(), "html")
    assert '\\"' not in text and "\\&quot;" not in text
    assert "“The &quot;A&quot; team”" in text
    assert "name: “a&quot;b” → “HR”" in text


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")
@pytest.mark.parametrize("name", PLANS)
def test_chromium_shows_the_verdict(name: str, tmp_path: Path) -> None:
    page = tmp_path / f"{name}.html"
    page.write_text(render(PLANS[name](), "html"), encoding="utf-8")
    dom = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    verdict = re.search(r'<p class="verdict (\w+)"', dom)
    assert verdict is not None
    expected = {"plain": "ready", "refused": "refused", "multi-site": "refused"}
    assert verdict.group(1) == expected[name]
    assert '\\"' not in dom
