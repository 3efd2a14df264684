"""Saved plan files: exact round trip, clear errors, and never a token."""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from render_plans import representative_plan

from plutoctl.errors import PlanError
from plutoctl.lms.client import SiteClient
from plutoctl.model import SegmentFields
from plutoctl.plan.changes.base import FieldChanges, Kind
from plutoctl.plan.changes.kinds import KINDS, Change
from plutoctl.plan.changes.plans import Notice, Plan, Refusal, SitePlan
from plutoctl.plan.render.common import json_safe
from plutoctl.plan.render.json import plan_to_dict, render_json
from plutoctl.plan.saved import check_seal, load_plan, save_plan, sealed_content

TOKEN = "0123456789abcdef0123456789abcdef"


def test_save_then_load_is_exact(tmp_path: Path) -> None:
    plan = representative_plan()
    path = tmp_path / "plan.json"
    save_plan(plan, path)
    assert load_plan(path) == plan
    assert json.loads(path.read_text(encoding="utf-8"))["format_version"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]  # no temporary file left


def test_a_sealed_plan_loads_with_its_seals_and_checks_only_against_its_content(
    tmp_path: Path,
) -> None:
    plan = representative_plan()
    sites = [site.site for site in plan.sites]
    client = SiteClient("primary", "https://lms.example.org", TOKEN)
    other = SiteClient("primary", "https://lms.example.org", TOKEN[::-1])
    path = tmp_path / "plan.json"
    save_plan(plan, path, {name: client.seal for name in sites})
    loaded = load_plan(path)
    assert dict(loaded.seals).keys() == set(sites)
    assert replace(loaded, seals=()) == plan
    assert TOKEN not in path.read_text(encoding="utf-8")
    content = sealed_content(loaded)
    assert content == sealed_content(plan)  # what is sealed leaves the seals out
    for name in sites:
        check_seal(loaded, name, client.seal, content)
        with pytest.raises(PlanError, match="made with another token"):
            check_seal(loaded, name, other.seal, content)
    edited = replace(loaded, created_at="2001-01-01T00:00:00Z")
    with pytest.raises(PlanError, match="the file was changed since"):
        check_seal(edited, sites[0], client.seal, sealed_content(edited))
    with pytest.raises(PlanError, match="has no seal for site"):
        check_seal(plan, sites[0], client.seal, content)


def test_saved_plan_holds_no_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLUTO_TOKEN_PRIMARY", TOKEN)
    path = tmp_path / "plan.json"
    save_plan(representative_plan(), path)
    text = path.read_text(encoding="utf-8")
    assert TOKEN not in text
    assert "token" not in text.lower()


def test_a_plan_containing_a_token_value_is_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLUTO_TOKEN_PRIMARY", TOKEN)
    leaky = Plan(sites=(SitePlan("demo", notices=(Notice("info", f"token {TOKEN}"),)),))
    path = tmp_path / "plan.json"
    with pytest.raises(PlanError) as caught:
        save_plan(leaky, path)
    assert "$PLUTO_TOKEN_PRIMARY" in caught.value.message
    assert TOKEN not in str(caught.value)
    assert not path.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param('{"format_version": 1, "sites": [', "invalid JSON at line 1", id="truncated"),
        pytest.param("", "invalid JSON", id="empty-file"),
        pytest.param('{"format_version": 99, "sites": []}', "format_version 99", id="version"),
        pytest.param('{"format_version": true, "sites": []}', "format_version True", id="true"),
        pytest.param('{"format_version": 1.0, "sites": []}', "format_version 1.0", id="1.0"),
        pytest.param('{"hello": "world"}', "not a plan file", id="not-a-plan"),
        pytest.param("[1, 2, 3]", "not a plan file", id="a-list"),
        pytest.param('{"format_version": 1' + "0" * 5000 + "}", "not a plan file", id="huge-int"),
        pytest.param("[" * 100_000 + "]" * 100_000, "nested too deeply", id="deep"),
        pytest.param(
            '{"format_version": 1, "format_version": 1}',
            "key 'format_version' is given twice",
            id="repeated-key",
        ),
    ],
)
def test_bad_files_raise_plan_error_naming_the_file(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "plan.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PlanError, match=message) as caught:
        load_plan(path)
    assert str(path) in caught.value.message


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda d: d["summary"].update(members_remove=0), "plan.summary.members_remove"),
        (lambda d: d["sites"][0]["summary"].update(enrol=0), "plan.sites[0].summary.enrol"),
        (lambda d: d["sites"][0]["changes"][0].update(count=99), "plan.sites[0].changes[0].count"),
        (lambda d: d["sites"][0]["changes"][0].update(subject="zzz"), "subject"),
        (lambda d: d["sites"][0]["changes"][0].update(step=True), "step"),
    ],
    ids=["total", "site-summary", "count", "subject", "step-as-true"],
)
def test_a_derived_key_edited_in_the_file_is_refused(
    tmp_path: Path, edit: typing.Callable[[dict[str, Any]], None], where: str
) -> None:
    """What a reader of the file sees must be what applies: no key may say otherwise."""
    path = tmp_path / "plan.json"
    save_plan(representative_plan(), path)
    load_plan(path)  # as saved: loads
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(PlanError, match="changed since it was saved") as caught:
        load_plan(path)
    assert where in caught.value.message


def test_a_site_listed_twice_is_not_a_plan(tmp_path: Path) -> None:
    plan = representative_plan()
    path = tmp_path / "plan.json"
    save_plan(replace(plan, sites=(plan.sites[0], plan.sites[0])), path)
    with pytest.raises(PlanError, match=f"site {plan.sites[0].site!r} is listed twice"):
        load_plan(path)


def test_binary_and_missing_files_raise_plan_error(tmp_path: Path) -> None:
    binary = tmp_path / "plan.bin"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(PlanError, match="not UTF-8"):
        load_plan(binary)
    with pytest.raises(PlanError, match="cannot read the plan"):
        load_plan(tmp_path / "missing.json")


def test_unwritable_path_raises_plan_error(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="cannot write the plan"):
        save_plan(representative_plan(), tmp_path / "no-such-dir" / "plan.json")


# --- property: every plan survives a save and a load ---------------------------------

text = st.text(max_size=12)
ident = st.integers(min_value=0, max_value=2**40)
names = st.lists(st.text(min_size=1, max_size=8), max_size=5).map(tuple)
fields = st.builds(SegmentFields, text, text, st.booleans())
value = st.one_of(text, st.booleans(), st.none(), st.integers(-(2**40), 2**40))
changed = st.lists(st.tuples(text, value, value), max_size=3).map(tuple)

FIELD_STRATEGIES: dict[object, st.SearchStrategy[Any]] = {
    str: text,
    int: ident,
    bool: st.booleans(),
    tuple[str, ...]: names,
    SegmentFields: fields,
    FieldChanges: changed,
}
"""The values of a change's fields, by the field's type."""


def change_of(kind: Kind) -> st.SearchStrategy[Change]:
    """Return changes of ``kind`` whose fields are drawn by their types alone, so that a
    new kind is in the round trip with nothing to write here (unless it has a field
    of a type without a strategy above)."""
    hints = typing.get_type_hints(kind.change)
    drawn = {}
    for item in dataclasses.fields(kind.change):
        if item.init:
            hint = hints[item.name]
            assert hint in FIELD_STRATEGIES, f"{kind.change.__name__}.{item.name}: no strategy"
            drawn[item.name] = FIELD_STRATEGIES[hint]
    return st.builds(kind.change, **drawn)


changes: st.SearchStrategy[Change] = st.one_of(*(change_of(kind) for kind in KINDS))
notices = st.lists(st.builds(Notice, text, text, text), max_size=2).map(tuple)
sites = st.builds(
    SitePlan,
    site=text,
    changes=st.lists(changes, max_size=6).map(tuple),
    refused=st.lists(st.builds(Refusal, changes, text, text), max_size=2).map(tuple),
    held_back=notices,
    notices=notices,
    errors=notices,
    api_calls=ident,
    fingerprints=st.dictionaries(text, text, max_size=3).map(lambda d: tuple(d.items())),
)
# Site names are unique in a plan, as in a config.
plans = st.builds(
    Plan, st.lists(sites, max_size=3, unique_by=lambda s: s.site).map(tuple), text, text
)


@settings(max_examples=100, deadline=None)
@given(plan=plans)
def test_every_plan_round_trips(tmp_path_factory: pytest.TempPathFactory, plan: Plan) -> None:
    path = tmp_path_factory.mktemp("saved") / "plan.json"
    save_plan(plan, path)
    assert load_plan(path) == plan


@settings(max_examples=100, deadline=None)
@given(plan=plans, seconds=st.lists(st.floats(0, 1e7), min_size=3, max_size=3))
def test_the_json_text_is_what_the_standard_encoder_writes(
    plan: Plan, seconds: list[float]
) -> None:
    sites = tuple(
        replace(site, estimated_seconds=s) for site, s in zip(plan.sites, seconds, strict=False)
    )
    plan = replace(plan, sites=sites)
    expected = json.dumps(plan_to_dict(plan), indent=2, ensure_ascii=False)
    assert render_json(plan) == json_safe(expected) + "\n"


UNSAFE_IN_JSON = frozenset(
    {*range(0x7F, 0xA0), 0x61C, *range(0x200B, 0x2010), *range(0x2028, 0x202F)}
    | {*range(0x2060, 0x206A), 0xFEFF}
)
"""DEL, the C1 controls and the invisible or bidi characters, written out by hand."""


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=st.characters(max_codepoint=0x2100))
    | st.text(alphabet=st.characters(max_codepoint=0x7F))
)
def test_json_safe_escapes_exactly_the_unsafe_characters(text: str) -> None:
    expected = "".join(f"\\u{ord(c):04x}" if ord(c) in UNSAFE_IN_JSON else c for c in text)
    assert json_safe(text) == expected


def test_json_safe_escapes_del_in_otherwise_plain_text() -> None:
    assert json_safe('{"name": "a\x7fb"}') == '{"name": "a\\u007fb"}'
