"""What the reads of a site found: the partial-read records and the index of users.

Each part of a read (segments, users, each course) fills a ``Read``: the users it
saw, the ids it still needs named, and why it is incomplete, if it is. Nothing here
calls the site: ``UserIndex`` merges what the parts saw, names member ids, and turns
answer records into the model's ``User``. A reason for an incomplete read is kept
(the plan then removes nothing); an error after which nothing can be read raises.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from sys import intern
from typing import cast

from plutoctl.errors import (
    AccessDeniedError,
    InvalidTokenError,
    LmsError,
    WebServiceDisabledError,
)
from plutoctl.lms.answers import CustomFieldRow, UserRow
from plutoctl.model import User

ACCOUNT_FIELDS = ("suspended", "auth", "lang")
"""Standard fields no user listing returns: read by looking users up, when rules use them."""
UNREAD_WHEN_ABSENT = frozenset(ACCOUNT_FIELDS) - {"suspended"}  # suspended: None when unread
"""The account fields a user the lookup did not answer for lacks (never taken for "")."""

GUEST = "guest"
_DENSE_SLOTS = 8  # at most this many slots a user in UserIndex's dense table
# Errors after which nothing on the site can be read: they end the read at once.
_FATAL = (InvalidTokenError, AccessDeniedError, WebServiceDisabledError)


def reason(what: str, error: LmsError) -> str:
    """Return an incomplete-read reason, or raise if the error ends the whole read."""
    if isinstance(error, _FATAL):
        raise error
    called = f" ({error.function})" if error.function else ""
    return f"{what}{called}: {error.reason} [{error.errorcode}]"


@dataclass
class Read:
    """What one part of the read found: users seen, ids to name, and what went wrong.

    ``named`` holds users seen with only a name (id → username): course enrolments,
    400,000 on a large site, where a full record each would cost dearly.
    ``member_lists`` holds the lists of member ids as answered, to be named: kept as
    lists, not gathered into a set (542,579 segment members on a large site).
    """

    users: dict[int, UserRow] = field(default_factory=dict)
    named: dict[int, str] = field(default_factory=dict)
    member_lists: list[list[int]] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    # The guest user and deleted users a lookup by id returned: never managed (see
    # ``is_kept``), so a segment or group holding one is no member short.
    left_alone: set[int] = field(default_factory=set)


@dataclass
class UsersRead(Read):
    is_listing_complete: bool = False


class UserIndex:
    """Every user the read saw, by id; names member ids and notes those it cannot."""

    def __init__(
        self,
        records: Mapping[int, UserRow],
        standard: frozenset[str],
        thin: Iterable[int] = (),
    ) -> None:
        self.records = dict(records)
        # id → username, kept beside the records: naming 500,000 segment members by
        # attribute lookups on the records took about a second.
        # Interned, as course enrolments intern theirs: one string per username, not
        # one per answer that names the user (about five on a 200-course site).
        self.usernames = {user_id: intern(r.username) for user_id, r in self.records.items()}
        self.standard = standard
        self.incomplete: list[str] = []
        # Users seen only by name (course enrolments): their profiles were not read.
        self.thin: set[int] = set(thin)
        self.left_alone: set[int] = set()  # see Read.left_alone
        self._table: list[str | None] | None = None  # see _dense_table
        self._table_size = -1

    @classmethod
    def merge(cls, reads: Iterable[Read], standard: frozenset[str]) -> UserIndex:
        """Return the index of every user the reads saw; the reads keep none of them.

        Each read's users and names move into the index, so that the reads' copies
        are freed while the site is assembled (a 100,000-user site holds 420,000
        names from course enrolments).
        """
        merged: dict[int, UserRow] = {}
        thin: set[int] = set()
        flags = bytearray()  # see _flags: one byte an id, set for those in ``merged``
        for read in reads:
            if read.users:
                for user_id, record in read.users.items():
                    merged.setdefault(user_id, record)
                flags = _flags(merged)
            # Only the course's names are looked up: ``named.keys() - merged.keys()``
            # walked every user merged so far (100,000) once per course.
            for user_id in _absent(read.named, merged, flags):
                merged[user_id] = UserRow(id=user_id, username=read.named[user_id])
                thin.add(user_id)
                if 0 <= user_id < len(flags):
                    flags[user_id] = 1
            read.users, read.named = {}, {}
        return cls(merged, standard, thin)

    def add(self, records: Iterable[UserRow]) -> None:
        """Add full records; one replaces a name-only record of the same user."""
        for record in records:
            if record.id in self.thin:
                self.records[record.id] = record
                self.thin.discard(record.id)
            self.usernames.setdefault(
                record.id, intern(self.records.setdefault(record.id, record).username)
            )

    def unknown_ids(self, reads: Iterable[Read]) -> set[int]:
        """Return the member ids of ``reads`` that no record holds; the reads let go of them.

        The lists stay where they are named from (the segments' and groups' reads): only
        the reads' references go, so that they are freed as they are named.
        """
        flags = _flags(self.records)
        unknown: set[int] = set()
        for read in reads:
            for ids in read.member_lists:
                unknown.update(_absent(ids, self.records, flags))
            read.member_lists = []
        return unknown

    def names(self, ids: Sequence[int], owner: str) -> frozenset[str]:
        """Return the usernames of the users ``ids``; note the ids no read named."""
        # map() runs in C: this names 626,000 segment and group members of a
        # 100,000-user site. Through the dense table where there is one (about half
        # the time of dict.get, for fewer cache misses an id).
        table = self._dense_table()
        if table is not None and ids and min(ids) >= 0 and max(ids) < len(table):
            found = frozenset(map(table.__getitem__, ids))
        else:
            found = frozenset(map(self.usernames.get, ids))
        if None not in found:
            return cast(frozenset[str], found)
        left_alone = self.left_alone
        missing = [i for i in ids if i not in self.usernames and i not in left_alone]
        if missing:
            self.incomplete.append(
                f"{len(missing)} member(s) of {owner} could not be named (user ids "
                f"{', '.join(map(str, sorted(missing)[:5]))}{'…' if len(missing) > 5 else ''})"
            )
        return cast(frozenset[str], found - {None})

    def _dense_table(self) -> list[str | None] | None:
        """Return the usernames in a list indexed by user id, or None where ids are sparse.

        Site user ids count up from 2 with few gaps, so the list is barely longer
        than the users; past eight slots a user (or for negative ids) there is none.
        Made again when users were added since (``add``).
        """
        usernames = self.usernames
        if self._table_size != len(usernames):
            self._table_size = len(usernames)
            self._table = None
            top = max(usernames, default=-1)
            if top < _DENSE_SLOTS * len(usernames) + 1024 and min(usernames, default=0) >= 0:
                table: list[str | None] = [None] * (top + 1)
                for user_id, username in usernames.items():
                    table[user_id] = username
                self._table = table
        return self._table

    @property
    def field_types(self) -> dict[str, str]:
        types: dict[str, str] = {}
        for record in self.records.values():
            for custom in record.customfields:
                types.setdefault(custom.shortname, custom.type)
        return types

    def take_users(self) -> dict[str, User]:
        """Return the model's users by username, emptying the index of its records.

        Each record is dropped as its user is made, so that the 100,000 users of a
        large site take the place of their records instead of adding to them.
        """
        maker = _UserMaker(self.standard)
        users: dict[str, User] = {}
        records = self.records
        for user_id in sorted(records):
            record = records.pop(user_id)
            if record.username:
                username = intern(record.username)
                users[username] = maker.user(record, username)
        return users


class _UserMaker:
    """Makes the model's users from records.

    Users whose custom fields hold the same values share one dict of them (read only,
    as the model's ``Mapping``s are): users mostly repeat a few hundred departments
    and regions, and a dict of three fields for each of 100,000 users is about 25 MB.
    Every field name and value is one string, not a copy per answer.
    """

    def __init__(self, standard_fields: frozenset[str]) -> None:
        self.standard_fields = standard_fields
        self.texts: dict[str, str] = {}
        self.customs: dict[tuple[CustomFieldRow, ...], dict[str, str]] = {}

    def user(self, record: UserRow, username: str) -> User:
        """Return the user of ``record``, named ``username`` (its own, interned)."""
        text = self.texts.setdefault
        standard: dict[str, str] = {}
        for name in self.standard_fields:
            if name == "suspended":
                if record.suspended is not None:  # unknown stays out: never "not suspended"
                    standard[name] = "1" if record.suspended else "0"
            else:
                raw = getattr(record, name, None)
                if raw is None and name in UNREAD_WHEN_ABSENT:
                    continue  # not read (no listing gives it): unknown, never ""
                value = str(raw or "")
                standard[name] = text(value, value)
        fields = tuple(record.customfields)  # the rows are frozen structs: hashable
        custom = self.customs.get(fields)
        if custom is None:
            custom = self.customs[fields] = {
                text(f.shortname, f.shortname): text(f.value, f.value)
                for f in fields
                if f.value is not None
            }
        return User(record.id, username, record.suspended, standard, custom)


def _flags(users: Mapping[int, object]) -> bytearray:
    """Return one byte an id up to the largest of ``users``, 1 for theirs; empty if sparse.

    Looking 420,000 course enrolments up in a dict of 100,000 users took 0.2 s (cache
    misses on the dict and its keys); in the bytes, 0.03 s.
    """
    top = max(users, default=-1)
    if top >= _DENSE_SLOTS * len(users) + 1024 or min(users, default=0) < 0:
        return bytearray()
    flags = bytearray(top + 1)
    for user_id in users:
        flags[user_id] = 1
    return flags


def _absent(ids: Collection[int], users: Mapping[int, object], flags: bytearray) -> list[int]:
    """Return the ids (in order) that ``users`` lacks; ``flags`` as ``_flags`` makes them."""
    if ids and min(ids) >= 0 and max(ids) < len(flags):
        return [user_id for user_id in ids if not flags[user_id]]
    return [user_id for user_id in ids if user_id not in users]


def is_kept(record: UserRow) -> bool:
    return bool(record.username) and record.username != GUEST and not record.deleted
