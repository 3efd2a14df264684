"""PHP-bracket flattening of web-service parameters."""

from __future__ import annotations

import pytest

from plutoctl.lms.params import count_item_vars, count_vars, flatten


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({"courseid": 5}, [("courseid", "5")], id="scalar"),
        pytest.param({"values": ["a", "b"]}, [("values[0]", "a"), ("values[1]", "b")], id="list"),
        pytest.param({"values": []}, [], id="empty-list-omitted"),
        pytest.param({"x": None}, [], id="none-omitted"),
        pytest.param(
            {"visible": True, "hidden": False},
            [("visible", "1"), ("hidden", "0")],
            id="booleans-as-0-1",
        ),
        pytest.param(
            {"context": {"contextlevel": "system", "instanceid": 0}},
            [("context[contextlevel]", "system"), ("context[instanceid]", "0")],
            id="dict",
        ),
        pytest.param(
            {"cohorts": [{"categorytype": {"type": "system", "value": ""}, "name": "Y7"}]},
            [
                ("cohorts[0][categorytype][type]", "system"),
                ("cohorts[0][categorytype][value]", ""),
                ("cohorts[0][name]", "Y7"),
            ],
            id="nested",
        ),
    ],
)
def test_flatten(params: dict, expected: list[tuple[str, str]]) -> None:
    assert flatten(params) == expected
    assert count_vars(params) == len(expected)


ITEMS = [
    {"cohorttype": {"type": "idnumber", "value": "sales"}, "usertype": {"type": "id", "value": 7}},
    {"groupid": 3, "userid": 9},
    {"name": "Y7", "description": None, "visible": True, "tags": ("a", "b")},
    {"ids": [], "scale": 1.5},
    "alice",
    (1, 2, 3),
]


def test_count_item_vars_counts_each_entry_as_flattened_in_a_list() -> None:
    assert count_item_vars(ITEMS) == [len(flatten({"list": [item]})) for item in ITEMS]
    assert count_item_vars(ITEMS) == [4, 2, 4, 1, 1, 3]


def test_count_vars_counts_every_flattened_key() -> None:
    members = [
        {"cohorttype": {"type": "id", "value": 1}, "usertype": {"type": "id", "value": i}}
        for i in range(3)
    ]
    assert count_vars({"members": members}) == 12


def test_unsupported_value_is_refused() -> None:
    with pytest.raises(TypeError):
        flatten({"x": object()})
