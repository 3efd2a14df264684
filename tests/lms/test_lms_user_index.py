"""The user index names member ids as a plain lookup of each id would, dense table or not."""

from __future__ import annotations

from operator import attrgetter

from hypothesis import given
from hypothesis import strategies as st

from plutoctl.lms.answers import CustomFieldRow, UserRow
from plutoctl.lms.found import Read, UserIndex
from plutoctl.model import User

_IDS = st.integers(min_value=-3, max_value=3_000)
_LETTERS = "abcdefghijklmnopqrstuvwxyz"  # usernames as [a-z]+


def _index(users: dict[int, str]) -> UserIndex:
    read = Read(users={i: UserRow(id=i, username=name) for i, name in users.items()})
    return UserIndex.merge([read], frozenset())


def _expected(
    users: dict[int, str], ids: list[int], owner: str
) -> tuple[frozenset[str], list[str]]:
    """What naming ``ids`` means, written the straightforward way."""
    names = frozenset(users[i] for i in ids if i in users)
    missing = sorted(i for i in ids if i not in users)
    if not missing:
        return names, []
    shown = ", ".join(map(str, missing[:5])) + ("…" if len(missing) > 5 else "")
    return names, [f"{len(missing)} member(s) of {owner} could not be named (user ids {shown})"]


@given(
    users=st.dictionaries(_IDS, st.text(_LETTERS, min_size=1, max_size=6), max_size=40),
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


def _merged_plainly(reads: list[tuple[dict[int, str], dict[int, str]]]) -> tuple[dict, set[int]]:
    """What merging means, written the straightforward way: (id → username, thin ids)."""
    merged: dict[int, str] = {}
    thin: set[int] = set()
    for users, named in reads:
        for user_id, username in users.items():
            merged.setdefault(user_id, username)
        for user_id, username in named.items():
            if user_id not in merged:
                merged[user_id] = username
                thin.add(user_id)
    return merged, thin


_NAMES = st.dictionaries(_IDS, st.text(_LETTERS, min_size=1, max_size=4), max_size=25)


@given(reads=st.lists(st.tuples(_NAMES, _NAMES), max_size=6))
def test_merging_keeps_the_first_record_of_each_user_and_notes_those_only_named(
    reads: list[tuple[dict[int, str], dict[int, str]]],
) -> None:
    index = UserIndex.merge(
        [
            Read(users={i: UserRow(id=i, username=n) for i, n in users.items()}, named=dict(named))
            for users, named in reads
        ],
        frozenset(),
    )
    merged, thin = _merged_plainly(reads)
    assert {i: r.username for i, r in index.records.items()} == merged
    assert list(index.records) == list(merged)  # the same order
    assert index.thin == thin


def test_names_past_the_listed_ids_are_merged_as_only_named() -> None:
    listing = Read(users={i: UserRow(id=i, username=f"u{i}") for i in range(2, 40)})
    course = Read(named={39: "u39", 40: "new", -5: "neg", 3: "u3"})
    index = UserIndex.merge([listing, course], frozenset())
    assert index.thin == {40, -5}
    assert index.records[40] == UserRow(id=40, username="new")


@given(
    users=st.dictionaries(_IDS, st.just("u"), max_size=30),
    lists=st.lists(st.lists(st.lists(_IDS, max_size=12), max_size=3), max_size=4),
)
def test_unknown_ids_are_the_member_ids_no_record_holds(
    users: dict[int, str], lists: list[list[list[int]]]
) -> None:
    index = _index(users)
    reads = [Read(member_lists=list(member_lists)) for member_lists in lists]
    expected = {i for member_lists in lists for ids in member_lists for i in ids} - set(users)
    assert index.unknown_ids(reads) == expected
    assert all(read.member_lists == [] for read in reads)


_TEXT = st.sampled_from(["", "Sales", "HR", "sales "]) | st.none()
_FIELD_ROWS = st.lists(
    st.builds(
        CustomFieldRow,
        shortname=st.sampled_from(["department", "region"]),
        type=st.just("text"),
        value=_TEXT,
    ),
    max_size=2,
)
_USER_ROWS = st.builds(
    UserRow,
    id=st.integers(1, 40),
    username=st.text("abcdefgh", min_size=1, max_size=4),
    suspended=st.booleans() | st.none(),
    lastname=_TEXT,
    city=_TEXT,
    customfields=_FIELD_ROWS,
)


def _plain_user(record: UserRow, standard_fields: frozenset[str]) -> User:
    """The user of a record, made field by field with nothing shared."""
    standard = {
        name: str(getattr(record, name) or "") for name in standard_fields if name != "suspended"
    }
    if "suspended" in standard_fields and record.suspended is not None:
        standard["suspended"] = "1" if record.suspended else "0"
    custom = {f.shortname: f.value for f in record.customfields if f.value is not None}
    return User(record.id, record.username, record.suspended, standard, custom)


@given(
    rows=st.lists(_USER_ROWS, max_size=12, unique_by=(attrgetter("id"), attrgetter("username"))),
    standard_fields=st.sets(st.sampled_from(["lastname", "city", "suspended"])).map(frozenset),
)
def test_users_are_made_as_field_by_field_and_equal_custom_fields_share_one_dict(
    rows: list[UserRow], standard_fields: frozenset[str]
) -> None:
    users = UserIndex({r.id: r for r in rows}, standard_fields).take_users()
    in_id_order = sorted(rows, key=attrgetter("id"))
    expected = {r.username: _plain_user(r, standard_fields) for r in in_id_order}
    assert users == expected
    # Records with the same custom fields get one dict of them, shared, not a copy each.
    custom: dict[object, int] = {}
    for row in rows:
        user = users[row.username]
        fields = tuple(row.customfields)
        assert custom.setdefault(fields, id(user.custom)) == id(user.custom)
