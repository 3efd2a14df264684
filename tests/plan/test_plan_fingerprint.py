"""Fingerprints: which keys a change touches, and digests that notice every change."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plan_builders import enrolled, existing_site, have_course, have_group, have_segment

from plutoctl.errors import PlanError
from plutoctl.model import SegmentFields
from plutoctl.plan.changes.kinds import (
    AddGroupMembers,
    AddSegmentMembers,
    CreateGroup,
    CreateSegment,
    DeleteGroup,
    DeleteSegment,
    Enrol,
    RemoveGroupMembers,
    RemoveSegmentMembers,
    Unenrol,
    UpdateGroup,
    UpdateSegment,
)
from plutoctl.plan.fingerprint import ABSENT, digest, fingerprint_keys, fingerprints


@pytest.mark.parametrize(
    ("change", "keys"),
    [
        (CreateSegment("s", SegmentFields("S")), ("segment:s",)),
        (UpdateSegment("s", 1, SegmentFields("S"), ()), ("segment:s",)),
        (DeleteSegment("s", 1, 0), ("segment-members:s", "segment:s")),
        (AddSegmentMembers("s", ("a",)), ("segment-members:s",)),
        (RemoveSegmentMembers("s", ("a",), 1), ("segment-members:s",)),
        (CreateGroup("C", "g", "G", ""), ("course:C", "group:C/g")),
        (UpdateGroup("C", "g", 1, "G", "", ()), ("course:C", "group:C/g")),
        (DeleteGroup("C", "g", 1, 0), ("group-members:C/g", "group:C/g")),
        (AddGroupMembers("C", "g", ("a",)), ("enrolments:C", "group-members:C/g")),
        (RemoveGroupMembers("C", "g", ("a",), 1), ("enrolments:C", "group-members:C/g")),
        (Enrol("C", "student", ("a",), "s"), ("enrolments:C",)),
        (Unenrol("C", ("a",), "s"), ("enrolments:C",)),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, tuple) else "",
)
def test_keys_of_each_change(change, keys) -> None:
    assert fingerprint_keys([change]) == keys


def test_keys_are_unique_and_sorted() -> None:
    changes = [
        AddSegmentMembers("b", ("x",)),
        AddSegmentMembers("a", ("x",)),
        Enrol("C", "r", (), "a"),
    ]
    keys = fingerprint_keys(changes + changes)
    assert keys == ("enrolments:C", "segment-members:a", "segment-members:b")


ALL_KEYS = (
    "segment:s",
    "segment-members:s",
    "course:C",
    "enrolments:C",
    "group:C/g",
    "group-members:C/g",
)


def _site(**overrides):
    segment = overrides.get("segment", have_segment("s", "a b", id=3))
    group = overrides.get("group", have_group("g", "a", id=8))
    course = overrides.get("course", have_course("C", [group], enrolled("a b"), id=2))
    return existing_site([segment], [course])


def test_digests_are_stable_and_order_independent() -> None:
    first = fingerprints(_site(), ALL_KEYS)
    reordered = _site(
        course=have_course(
            "C", [have_group("g", "a", id=8)], {"b": "student", "a": "student"}, id=2
        )
    )
    assert fingerprints(reordered, reversed(ALL_KEYS)) == first
    assert [key for key, _ in first] == sorted(ALL_KEYS)
    assert all(len(d) == 64 and d != ABSENT for _, d in first)


@pytest.mark.parametrize(
    ("overrides", "changed_key"),
    [
        ({"segment": have_segment("s", "a b", id=3, name="Other")}, "segment:s"),
        ({"segment": have_segment("s", "a b", id=4)}, "segment:s"),
        ({"segment": have_segment("s", "a b", id=3, visible=False)}, "segment:s"),
        ({"segment": have_segment("s", "a", id=3)}, "segment-members:s"),
        ({"group": have_group("g", "a b", id=8)}, "group-members:C/g"),
        ({"group": have_group("g", "a", id=8, description="d")}, "group:C/g"),
        (
            {"course": have_course("C", [have_group("g", "a", id=8)], enrolled("a"), id=2)},
            "enrolments:C",
        ),
        (
            {
                "course": have_course(
                    "C", [have_group("g", "a", id=8)], enrolled("a b", "teacher"), id=2
                )
            },
            "enrolments:C",
        ),
        (
            {
                "course": have_course(
                    "C",
                    [have_group("g", "a", id=8), have_group("", name="X")],
                    enrolled("a b"),
                    id=2,
                )
            },
            "course:C",
        ),
    ],
    ids=[
        "segment-name",
        "segment-id",
        "segment-visible",
        "segment-members",
        "group-members",
        "group-description",
        "enrolment-gone",
        "enrolment-role",
        "course-new-group",
    ],
)
def test_each_change_to_an_object_changes_exactly_its_digest(overrides, changed_key) -> None:
    before = dict(fingerprints(_site(), ALL_KEYS))
    after = dict(fingerprints(_site(**overrides), ALL_KEYS))
    assert {k for k in ALL_KEYS if before[k] != after[k]} == {changed_key}


def test_missing_objects_have_the_absent_digest() -> None:
    empty = existing_site()
    assert {d for _, d in fingerprints(empty, ALL_KEYS)} == {ABSENT}


def test_unread_members_differ_from_no_members() -> None:
    unread = dict(fingerprints(_site(segment=have_segment("s", None, id=3)), ALL_KEYS))
    none = dict(fingerprints(_site(segment=have_segment("s", "", id=3)), ALL_KEYS))
    assert unread["segment-members:s"] != none["segment-members:s"]
    assert unread["segment-members:s"] != ABSENT


def test_course_and_group_names_may_contain_slashes() -> None:
    site = existing_site(courses=[have_course("A/B", [have_group("x/y", "u")])])
    emptied = existing_site(courses=[have_course("A/B", [have_group("x/y")])])
    keys = ["group:A/B/x/y", "group-members:A/B/x/y"]
    before, after = dict(fingerprints(site, keys)), dict(fingerprints(emptied, keys))
    assert ABSENT not in before.values()
    assert before["group:A/B/x/y"] == after["group:A/B/x/y"]
    assert before["group-members:A/B/x/y"] != after["group-members:A/B/x/y"]


def test_unknown_key_is_a_plan_error() -> None:
    with pytest.raises(PlanError, match="unknown fingerprint key"):
        fingerprints(existing_site(), ["token:abc"])


_LEAF = st.one_of(st.text(), st.integers(-(2**70), 2**70), st.booleans())
_STATE = st.recursive(
    _LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(state=_STATE)
def test_a_digest_is_of_the_sorted_compact_json_of_the_state(state: object) -> None:
    # Saved plans hold digests of exactly these bytes: a faster encoder must not move them.
    text = json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert digest(state) == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_a_known_state_keeps_its_known_digest() -> None:
    state = {"name": "Ventes é", "id": 7, "visible": True, "members": ["b", "a\n"]}
    text = '{"id":7,"members":["b","a\\n"],"name":"Ventes é","visible":true}'
    assert digest(state) == hashlib.sha256(text.encode("utf-8")).hexdigest()
