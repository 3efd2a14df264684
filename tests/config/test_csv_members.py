"""A segment's CSV rows, each a SourcedName made when read: the same as a tuple of them."""

from __future__ import annotations

from array import array

from plutoctl.config.loaded import CsvMembers, SourcedName, usernames_of
from plutoctl.errors import Position

ROWS = CsvMembers("data/a.csv", ("jdoe", "asmith"), array("l", [2, 5]))
ENTRIES = (
    SourcedName("jdoe", Position("data/a.csv", 2), "members_csv"),
    SourcedName("asmith", Position("data/a.csv", 5), "members_csv"),
)


def test_rows_read_as_the_entries_they_stand_for() -> None:
    assert len(ROWS) == 2
    assert ROWS[1] == ENTRIES[1]
    assert ROWS[-1] == ENTRIES[1]
    assert tuple(ROWS) == ENTRIES
    assert ROWS == ENTRIES
    assert ENTRIES == ROWS
    assert ROWS[1:] == ENTRIES[1:]
    assert ENTRIES[:1] != ROWS
    assert repr(ROWS) == repr(ENTRIES)


def test_usernames_of_rows_and_of_entries() -> None:
    assert list(usernames_of(ROWS)) == ["jdoe", "asmith"]
    assert list(usernames_of(ENTRIES)) == ["jdoe", "asmith"]
