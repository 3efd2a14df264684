"""The YAML loader: scalar typing, positions, duplicate keys, merges, syntax errors."""

from __future__ import annotations

import pytest

from plutoctl.config.yaml_positions import parse_yaml
from plutoctl.errors import Position


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no", "no"),
        ("on", "on"),
        ("yes", "yes"),
        ("0123", "0123"),
        ("2024-01-01", "2024-01-01"),
        ("1.5", "1.5"),
        ("1e3", "1e3"),
        ("0x1f", "0x1f"),
        ("'12'", "12"),
        ('"true"', "true"),
        ("true", True),
        ("False", False),
        ("12", 12),
        ("-3", -3),
        ("+44", "+44"),  # a number would lose the sign someone wrote (a dialling code)
        ("0", 0),
        ("~", None),
        ("null", None),
        ("", None),
    ],
    ids=lambda v: repr(v),
)
def test_scalar_typing(text: str, expected: object) -> None:
    document = parse_yaml(f"key: {text}\n", "c.yaml")
    assert document.problems == []
    assert document.data == {"key": expected}
    assert type(document.data["key"]) is type(expected)  # type: ignore[index]


@pytest.mark.parametrize("key", ["no", "on", "0123", "2024-01-01", "12", "true", "null"])
def test_mapping_keys_are_always_strings(key: str) -> None:
    document = parse_yaml(f"segments:\n  {key}:\n    name: x\n", "c.yaml")
    assert document.data == {"segments": {key: {"name": "x"}}}


def test_positions_of_keys_and_list_items() -> None:
    text = "segments:\n  dept-sales:\n    name: Sales\n    members: [jdoe, asmith]\n"
    positions = parse_yaml(text, "dir/c.yaml").positions
    assert positions[()] == Position("dir/c.yaml", 1, 1)
    assert positions[("segments",)] == Position("dir/c.yaml", 1, 1)
    assert positions[("segments", "dept-sales")] == Position("dir/c.yaml", 2, 3)
    assert positions[("segments", "dept-sales", "name")] == Position("dir/c.yaml", 3, 5)
    assert positions[("segments", "dept-sales", "members", 0)] == Position("dir/c.yaml", 4, 15)
    assert positions[("segments", "dept-sales", "members", 1)] == Position("dir/c.yaml", 4, 21)


def test_block_list_items_have_positions() -> None:
    text = "rules:\n  - field: a\n    match: empty\n  - all:\n      - {field: b, match: defined}\n"
    positions = parse_yaml(text, "c.yaml").positions
    assert positions[("rules", 0)] == Position("c.yaml", 2, 5)
    assert positions[("rules", 1, "all", 0, "match")] == Position("c.yaml", 5, 20)


def test_duplicate_key_cites_both_places_and_keeps_the_first() -> None:
    document = parse_yaml("a:\n  x: 1\n  y: 2\n  x: 3\n", "c.yaml")
    assert document.data == {"a": {"x": 1, "y": 2}}
    (problem,) = document.problems
    assert problem.position == Position("c.yaml", 4, 3)
    assert "duplicate key 'x'" in problem.message
    assert "c.yaml:2:3" in problem.message


def test_merge_keys_and_aliases() -> None:
    text = "base: &b\n  name: Base\n  visible: false\nuse:\n  <<: *b\n  name: Own\n"
    document = parse_yaml(text, "c.yaml")
    assert document.problems == []
    assert document.data["use"] == {"name": "Own", "visible": False}  # type: ignore[index]
    assert document.positions[("use", "name")] == Position("c.yaml", 6, 3)


def test_syntax_error_has_line_and_column() -> None:
    document = parse_yaml("a: [1, 2\nb: 3\n", "c.yaml")
    assert document.data is None
    (problem,) = document.problems
    assert problem.position.file == "c.yaml"
    assert problem.position.line == 2
    assert problem.position.col > 0
    assert problem.message.startswith("YAML syntax error")


def test_empty_document() -> None:
    document = parse_yaml("# just a comment\n", "c.yaml")
    assert document.data is None
    assert document.problems == []


def test_explicit_str_tag_keeps_text() -> None:
    document = parse_yaml("a: !!str 12\nb: !!str true\nc: |\n  12\n", "c.yaml")
    assert document.data == {"a": "12", "b": "true", "c": "12\n"}


def test_complex_key_is_a_problem() -> None:
    document = parse_yaml("segments:\n  [a, b]: {name: x}\n", "c.yaml")
    (problem,) = document.problems
    assert problem.position == Position("c.yaml", 2, 3)
    assert problem.message == "a key must be plain text"


def test_two_merge_keys_in_one_mapping_are_a_duplicate_key() -> None:
    text = "a: &a {x: 1}\nb: &b {x: 2}\nc:\n  <<: *a\n  <<: *b\n"
    document = parse_yaml(text, "c.yaml")
    (problem,) = document.problems
    assert problem.position == Position("c.yaml", 5, 3)
    assert "duplicate key '<<'" in problem.message
    assert document.data["c"] == {"x": 1}  # type: ignore[index]  # the first is kept
