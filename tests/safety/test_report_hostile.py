"""Reports cannot be used against their readers.

A corpus of hostile strings (GitHub mentions, bare URLs, bidi and zero-width
characters, markup, terminal escapes) is put in every place a report shows text from
the config or a site: site names, segment IDs, names, descriptions, group and course
names, usernames, notices, refusal reasons. In every format none of it may act: no
bidi or invisible character survives raw, and in markdown no mention pings anyone and
no bare URL is autolinked.
"""

from __future__ import annotations

import dataclasses
import json
import re
import typing

import pytest

from plutoctl.model import SegmentFields
from plutoctl.plan.changes.base import FieldChanges
from plutoctl.plan.changes.kinds import (
    KINDS,
    AddGroupMembers,
    AddSegmentMembers,
    Change,
    CreateGroup,
    CreateSegment,
    DeleteSegment,
    Enrol,
    RemoveSegmentMembers,
    UpdateSegment,
)
from plutoctl.plan.changes.plans import Notice, Plan, Refusal, SitePlan
from plutoctl.plan.formats import FORMATS
from plutoctl.plan.render import render

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
INVISIBLE = BIDI + "\u200b\u200c\u200d\u2060\ufeff\u2028\u2029"

CORPUS = [
    "@octocat",
    "cc @org/team please",
    "(@admin)",
    "ping:@someone",
    "https://evil.example/login",
    "HTTPS://EVIL.EXAMPLE",
    "see http://x.example/a?b=c",
    "www.evil.example",
    "ftp://files.example",
    "mailto:boss@example.com",
    "boss@example.com",
    "admin\u202egnp.exe",
    "\u2066hidden\u2069 text",
    "zero\u200bwidth\u200djoin\ufeff",
    "line\u2028sep",
    "<img src=x onerror=alert(1)>",
    "[click](https://evil.example)",
    "\x1b[31mred\x1b[0m",
    "`code` *bold* _it_",
]


def hostile_plan(text: str) -> Plan:
    fields = SegmentFields(name=text, description=text, visible=True)
    changes = (
        CreateSegment(text, fields),
        UpdateSegment(text, 7, fields, (("name", "old", text), ("description", text, "new"))),
        AddSegmentMembers(text, (text, "ann")),
        RemoveSegmentMembers(text, (text,), 3),
        DeleteSegment(text, 8, 0),
        CreateGroup(text, text, text, text),
        AddGroupMembers(text, text, (text,)),
        Enrol(text, text, (text,), text),
    )
    refused = Refusal(RemoveSegmentMembers(text, (text,), 1), text, f"--allow-removals {text}")
    site = SitePlan(
        site=text,
        changes=changes,
        refused=(refused,),
        notices=(Notice("warning", text, text),),
        errors=(Notice("error", text, text),),
    )
    return Plan(sites=(site, SitePlan(site="other")), config_path=text, created_at=text)


def every_kind_plan(text: str) -> Plan:
    """One change of every kind with ``text`` in each of its text fields, built from
    the class's fields (a new kind is checked here with nothing to write); the
    removals are refused too."""
    values: dict[object, object] = {
        str: text,
        int: 3,
        bool: True,
        tuple[str, ...]: (text, "ann"),
        SegmentFields: SegmentFields(name=text, description=text, visible=True),
        FieldChanges: (("name", "old", text),),
    }
    changes: list[Change] = []
    for kind in KINDS:
        hints = typing.get_type_hints(kind.change)
        fields = [f for f in dataclasses.fields(kind.change) if f.init]
        changes.append(kind.change(**{f.name: values[hints[f.name]] for f in fields}))
    refused = tuple(Refusal(c, text, text) for c in changes if c.kind.is_removal)
    site = SitePlan(site=text, changes=tuple(changes), refused=refused)
    return Plan(sites=(site,), config_path=text, created_at=text)


def without_code_spans(markdown: str) -> str:
    """Text outside `code` spans: inside them GitHub neither mentions nor links."""
    return re.sub(r"`[^`\n]*`", "", markdown)


MENTION = re.compile(r"(?<![\w`])@[A-Za-z0-9]")
AUTOLINK = re.compile(r"(?i)\b(?:https?://|ftp://|www\.|mailto:)|[\w.+-]@[\w-]+\.\w")


def assert_no_raw_control(rendered: str, fmt: str) -> None:
    """No invisible or bidi character, nor an escape, reaches the reader raw."""
    raw = [f"U+{ord(c):04X}" for c in rendered if c in INVISIBLE]
    assert raw == [], f"{fmt} passes {raw} through"
    assert "\x1b" not in rendered


@pytest.mark.parametrize("text", CORPUS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_no_hostile_character_survives_raw(fmt: str, text: str) -> None:
    for show_members in (False, True):
        assert_no_raw_control(render(hostile_plan(text), fmt, show_members=show_members), fmt)


@pytest.mark.parametrize("text", CORPUS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_no_kind_of_change_lets_hostile_text_through(fmt: str, text: str) -> None:
    for show_members in (False, True):
        rendered = render(every_kind_plan(text), fmt, show_members=show_members)
        assert_no_raw_control(rendered, fmt)
        if fmt == "markdown":
            outside = without_code_spans(rendered)
            assert MENTION.findall(outside) == []
            assert AUTOLINK.findall(outside) == []


@pytest.mark.parametrize("text", CORPUS)
def test_markdown_neither_mentions_nor_autolinks(text: str) -> None:
    for show_members in (False, True):
        outside = without_code_spans(
            render(hostile_plan(text), "markdown", show_members=show_members)
        )
        assert MENTION.findall(outside) == []
        assert AUTOLINK.findall(outside) == []


@pytest.mark.parametrize("text", CORPUS)
def test_json_keeps_the_data_exactly(text: str) -> None:
    # JSON escapes rather than strips: a saved plan must round-trip byte for byte.
    data = json.loads(render(hostile_plan(text), "json"))
    assert data["sites"][0]["site"] == text


def test_markdown_still_reads_the_same() -> None:
    # The zero-width break is invisible once rendered: the reader sees the same text.
    rendered = render(hostile_plan("@octocat https://x.example"), "markdown")
    visible = rendered.replace("&#8203;", "")
    assert "@octocat https://x.example" in visible.replace("\\", "")
