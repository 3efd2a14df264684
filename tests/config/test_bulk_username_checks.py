"""Lists and files of usernames checked in bulk give what checking each name gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from plutoctl.config import SourcedName, load_config
from plutoctl.config.check_segments import _check_usernames
from plutoctl.config.recorder import Recorder
from plutoctl.config.usernames import (
    are_clean,
    clean_config_usernames,
    cleaned_if_valid,
    is_clean,
    username_problem,
)
from plutoctl.errors import Position

# Mostly clean names, some with capitals, spaces, line breaks, other characters, or empty.
_NAME = st.one_of(
    st.sampled_from(["ann", "bob", "c.d@x", "e_f-9", "ann"]),
    st.text(alphabet="abAB .-@\n\t;é", max_size=5),
)
_ITEM = st.one_of(_NAME, _NAME, _NAME, st.integers(), st.none())


@given(st.lists(_ITEM, max_size=12))
@example(["ann\nbob"])  # one name holding a line break is not two clean names
@example(["ann\n"])
def test_are_clean_is_is_clean_of_every_name(names: list[Any]) -> None:
    expected = all(type(name) is str and is_clean(name) is not None for name in names)
    assert are_clean(names) is expected


@given(st.lists(_NAME, max_size=12))
@example(["@\n@"])
def test_a_members_list_is_checked_as_name_by_name(names: list[str]) -> None:
    rec = Recorder({}, "segments.yaml", Path())
    _check_usernames(rec, ("segments", "s", "members"), names)
    expected = []
    first: dict[str, int] = {}
    for i, name in enumerate(names):
        bad = username_problem(name)
        if bad:
            expected.append((f"segments.s.members.{i}: {bad[0]}", bad[1], False))
        elif name in first:
            expected.append((f"segments.s.members.{i}: {name!r} is listed twice", None, True))
        first.setdefault(name, i)
    assert [(p.message, p.hint, p.is_warning) for p in rec.problems] == expected


@given(st.lists(_ITEM, max_size=12), st.lists(_ITEM, max_size=4))
def test_config_usernames_are_cleaned_as_name_by_name(
    members: list[Any], exclude: list[Any]
) -> None:
    data = {"segments": {"s": {"members": members, "exclude": exclude}}}
    positions = {("segments", "s", "members", 0): Position("c.yaml", 9)}
    cleaned, warning = clean_config_usernames(data, positions, "c.yaml")
    changed = 0
    for key, names in (("members", members), ("exclude", exclude)):
        expected = []
        for name in names:
            new = cleaned_if_valid(name) if isinstance(name, str) else name
            changed += new != name
            expected.append(new)
        assert cleaned["segments"]["s"][key] == expected
    assert (warning is None) is (changed == 0)
    if warning is not None:
        assert warning.message.startswith(f"{changed:,} username")


def test_a_user_listed_twice_for_a_segment_in_its_csv_is_kept_once_with_a_warning(
    tmp_path: Path,
) -> None:
    (tmp_path / "teams.csv").write_text(
        "username,cohort1\njdoe,team-a\nasmith,team-a\njdoe,team-a\nbob,team-b\nbob,team-b\n"
    )
    (tmp_path / "segments.yaml").write_text(
        "version: 1\nsites:\n  demo:\n    url: sandbox:demo.db\nsegments:\n"
        "  team-a: {name: A, members_csv: teams.csv}\n"
        "  team-b: {name: B, members_csv: teams.csv}\n"
    )
    loaded = load_config(tmp_path / "segments.yaml")
    shown = str(tmp_path / "teams.csv")
    assert loaded.csv_members["team-a"] == (
        SourcedName("jdoe", Position(shown, 2), "members_csv"),
        SourcedName("asmith", Position(shown, 3), "members_csv"),
    )
    assert [(n.username, n.position.line) for n in loaded.csv_members["team-b"]] == [("bob", 5)]
    assert [(w.position, w.message) for w in loaded.warnings] == [
        (Position(shown, 4), "'jdoe' is listed twice for segment 'team-a' (first at line 2)"),
        (Position(shown, 6), "'bob' is listed twice for segment 'team-b' (first at line 5)"),
    ]
