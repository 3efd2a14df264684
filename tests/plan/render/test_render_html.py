"""The HTML report: self-contained, escaped, well-formed, with a chart per site."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from render_plans import (
    empty_plan,
    every_change_site,
    hostile_plan,
    members_plan,
    names,
    representative_plan,
)

from plutoctl.plan.changes.kinds import AddSegmentMembers, RemoveSegmentMembers
from plutoctl.plan.changes.plans import Plan, SitePlan
from plutoctl.plan.render import render
from plutoctl.plan.render.html import CHART_ROWS


def _parse(text: str) -> ET.Element:
    """Parse the document as XML (it is written well-formed on purpose)."""
    assert text.startswith("<!DOCTYPE html>\n")
    return ET.fromstring(text.removeprefix("<!DOCTYPE html>\n"))


def test_document_is_well_formed_and_complete() -> None:
    root = _parse(render(representative_plan(), "html"))
    assert root.tag == "html"
    assert root.find("head/style") is not None
    sections = root.findall("body/section")
    assert [s.findtext("h2") for s in sections] == ["Site demo", "Site primary"]
    items = sections[0].findall("ul[@class='changes']/li")
    assert len(items) == len(every_change_site().changes)
    assert [li.get("class") for li in items].count("remove") == 5
    refused = sections[0].findall("ul[@class='changes refused']/li")
    assert len(refused) == 2
    assert "--allow-delete legacy" in ET.tostring(refused[1], encoding="unicode")
    table = {
        tr.findtext("td"): tr.findall("td")[1].text
        for tr in sections[0].findall("table/tr")
        if tr.find("td") is not None
    }
    assert table["Segments to create"] == "1"
    assert table["Users to unenrol"] == "1"
    assert table["Estimated API calls"] == "14"
    assert "Groups to create" not in {
        tr.findtext("td") for tr in sections[1].findall("table/tr")
    }  # zero rows are left out
    body = ET.tostring(root, encoding="unicode")
    for text in ("Total: 2 segments to create", "unknown username", "stray-seg", "dept-eng"):
        assert text in body


def test_self_contained_no_scripts_or_external_assets() -> None:
    text = render(hostile_plan(), "html", show_members=True)
    root = _parse(text)
    tags = {element.tag for element in root.iter()}
    assert tags.isdisjoint({"script", "link", "img", "iframe", "object", "embed"})
    for element in root.iter():
        for attribute in ("src", "href"):
            assert element.get(attribute) is None
        assert not any(name.startswith("on") for name in element.attrib)
    assert not re.search(r"(src|href)\s*=\s*['\"]?https?:", text)
    assert "url(" not in text  # no CSS-loaded assets


def test_names_are_escaped() -> None:
    text = render(hostile_plan(), "html", show_members=True)
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&lt;b&gt;site&lt;/b&gt;" in text
    assert "\x1b" not in text
    root = _parse(text)
    assert root.find("body/section/h2").text == "Site <b>site</b>"


def test_chart_has_a_bar_pair_per_segment() -> None:
    root = _parse(render(representative_plan(), "html"))
    demo, primary = root.findall("body/section")
    bars = demo.findall("svg/g")
    # dept-sales gains 3, dept-hr loses 2 (the refused dept-ops is not drawn).
    assert [g.findtext("title") for g in bars] == ["dept-sales: +3 / −0", "dept-hr: +0 / −2"]
    widths = {
        g.findtext("title"): (
            int(g.find("rect[@class='added']").get("width")),
            int(g.find("rect[@class='removed']").get("width")),
        )
        for g in bars
    }
    assert widths["dept-sales: +3 / −0"] == (300, 0)  # the biggest change fills the bar
    assert widths["dept-hr: +0 / −2"] == (0, 200)
    assert len(primary.findall("svg/g")) == 1


def test_chart_is_limited_and_says_so() -> None:
    changes = []
    for n in range(CHART_ROWS + 5):
        changes.append(AddSegmentMembers(f"s{n:03d}", names("u", n + 1)))
        changes.append(RemoveSegmentMembers(f"s{n:03d}", ("x",), 5))
    plan = Plan(sites=(SitePlan("demo", changes=tuple(changes)),))
    text = render(plan, "html")
    root = _parse(text)
    assert len(root.findall("body/section/svg/g")) == CHART_ROWS
    assert "… and 5 more segments with member changes" in text
    first = root.find("body/section/svg/g").findtext("title")
    assert first == f"s{CHART_ROWS + 4:03d}: +{CHART_ROWS + 5} / −1"  # biggest first


def test_members_fold_unless_shown() -> None:
    folded = render(members_plan(30), "html")
    assert "u020" in folded
    assert "u021" not in folded
    assert "… and 10 more (use --show-members)" in folded
    assert "u030" in render(members_plan(30), "html", show_members=True)


def test_no_changes_has_no_chart() -> None:
    root = _parse(render(empty_plan(), "html"))
    assert root.find(".//svg") is None
    assert [p.findtext("strong") for p in root.findall("body/section/p")] == [
        "No changes.",
        "No changes.",
    ]
