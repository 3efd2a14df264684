"""The form body the client sends is exactly what urllib's urlencode makes."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from hypothesis import given
from hypothesis import strategies as st

from plutoctl.lms.params import count_vars, encode_form, flatten


def test_web_service_keys_and_values_encode_as_urlencode_does() -> None:
    params = {
        "members": [
            {"cohorttype": {"type": "id", "value": 7}, "usertype": {"type": "id", "value": 12}},
        ],
        "cohorts": [{"name": "Sales & Support (north)", "idnumber": "sales~1", "visible": True}],
        "field": "username",
        "values": ["ann.o'neil", "bob+x@example.org", "zoë", "a b", "x[y]"],
    }
    pairs = flatten(params)
    assert encode_form(pairs) == urlencode(pairs).encode("ascii")
    assert parse_qsl(encode_form(pairs).decode()) == pairs


@given(st.lists(st.tuples(st.text(), st.text()), max_size=8))
def test_any_text_encodes_as_urlencode_does(pairs: list[tuple[str, str]]) -> None:
    assert encode_form(pairs) == urlencode(pairs).encode("ascii")


def test_count_vars_counts_what_flatten_makes() -> None:
    params = {
        "members": [{"cohorttype": {"type": "id", "value": 1}, "usertype": {"type": "id"}}],
        "skip": None,
        "empty": [],
        "flags": [True, False],
    }
    assert count_vars(params) == len(flatten(params)) == 5
