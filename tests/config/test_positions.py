"""Key positions with the items of plain lists packed: the same answers as a dict."""

from __future__ import annotations

from plutoctl.config.positions import with_more
from plutoctl.config.yaml_positions import parse_yaml
from plutoctl.errors import Position

TEXT = "a:\n  members: [x, y]\n  rules:\n    - {field: f}\n"


def test_packed_items_answer_like_a_dict() -> None:
    positions = parse_yaml(TEXT, "c.yaml").positions
    assert positions[("a", "members", 1)] == Position("c.yaml", 2, 16)
    assert ("a", "members", 1) in positions
    assert ("a", "members", 2) not in positions
    assert ("a", "members", "1") not in positions
    assert positions.get(("a", "members", -1)) is None
    assert dict(positions) == {
        (): Position("c.yaml", 1, 1),
        ("a",): Position("c.yaml", 1, 1),
        ("a", "members"): Position("c.yaml", 2, 3),
        ("a", "rules"): Position("c.yaml", 3, 3),
        ("a", "rules", 0): Position("c.yaml", 4, 7),
        ("a", "rules", 0, "field"): Position("c.yaml", 4, 8),
        ("a", "members", 0): Position("c.yaml", 2, 13),
        ("a", "members", 1): Position("c.yaml", 2, 16),
    }
    assert len(positions) == 8


def test_more_positions_win_over_packed_ones() -> None:
    positions = parse_yaml(TEXT, "c.yaml").positions
    more = {("a", "members", 0): Position("rows.csv", 3)}
    merged = with_more(positions, more)
    assert merged[("a", "members", 0)] == Position("rows.csv", 3)
    assert merged[("a", "members", 1)] == Position("c.yaml", 2, 16)
    assert positions[("a", "members", 0)] == Position("c.yaml", 2, 13)


def test_a_list_built_again_by_a_merge_keeps_its_first_positions() -> None:
    text = "base: &b\n  members: [p, q, r]\nuse:\n  members: [x]\n  <<: *b\n"
    document = parse_yaml(text, "c.yaml")
    assert document.data["use"] == {"members": ["x"]}  # type: ignore[index]
    assert document.positions[("use", "members", 0)] == Position("c.yaml", 4, 13)
    assert document.positions[("use", "members", 2)] == Position("c.yaml", 2, 19)
