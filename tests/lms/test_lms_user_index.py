"""The user index names member ids as a plain lookup of each id would, dense table or not."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from plutoctl.lms.answers import UserRow
from plutoctl.lms.found import Read, UserIndex

_IDS = st.integers(min_value=-3, max_value=3_000)


def _index(users: dict[int, str]) -> UserIndex:
    read = Read(users={i: UserRow(id=i, username=name) for i, name in users.items()})
    return UserIndex.merge([read], frozenset())


def _expected(users: dict[int, str], ids: list[int], owner: str) -> tuple[frozenset[str], list[str]]:
    """What naming ``ids`` means, written the straightforward way."""
    names = frozenset(users[i] for i in ids if i in users)
    missing = sorted(i for i in ids if i not in users)
    if not missing:
        return names, []
    shown = ", ".join(map(str, missing[:5])) + ("…" if len(missing) > 5 else "")
    return names, [f"{len(missing)} member(s) of {owner} could not be named (user ids {shown})"]


@given(
    users=st.dictionaries(_IDS, st.from_regex(r"[a-z]{1,6}", fullmatch=True), max_size=40),
    lists=st.lists(st.lists(_IDS, max_size=30), max_size=5),
)
def test_names_are_those_of_the_ids_the_index_holds(
    users: dict[int, str], lists: list[list[int]]
) -> None:
    index = _index(users)
    expected_incomplete: list[str] = []
    for number, ids in enumerate(lists):
        names, incomplete = _expected(users, ids, f"segment s{number}")
        assert index.names(ids, f"segment s{number}") == names
        expected_incomplete += incomplete
    assert index.incomplete == expected_incomplete


def test_sparse_ids_are_named_without_a_table() -> None:
    users = {2: "ann", 10_000_000: "bob"}
    index = _index(users)
    assert index.names([2, 10_000_000, 5], "group 'g'") == {"ann", "bob"}
    assert index._dense_table() is None
    assert index.incomplete == ["1 member(s) of group 'g' could not be named (user ids 5)"]


def test_users_added_after_a_naming_are_named_too() -> None:
    index = _index({2: "ann", 3: "bob"})
    assert index.names([2, 3, 4], "segment a") == {"ann", "bob"}
    index.add([UserRow(id=4, username="cy"), UserRow(id=-1, username="neg")])
    assert index.names([2, 3, 4, -1], "segment b") == {"ann", "bob", "cy", "neg"}
    assert index.names([-1, 7], "segment c") == {"neg"}
    assert index.incomplete == [
        "1 member(s) of segment a could not be named (user ids 4)",
        "1 member(s) of segment c could not be named (user ids 7)",
    ]


def test_a_negative_or_too_large_id_is_not_taken_from_the_table() -> None:
    index = _index({i: f"u{i}" for i in range(2, 50)})
    assert index._dense_table() is not None
    # -1 would index the list from its end, 49 + 1 past it: both are unknown ids.
    assert index.names([-1, 2, 50], "segment s") == {"u2"}
    assert index.incomplete == ["2 member(s) of segment s could not be named (user ids -1, 50)"]
