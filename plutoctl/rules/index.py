"""Who matches, for a whole site at once: users indexed per field by normalised value.

``exact`` and ``in`` are dictionary lookups and a segment's members are set
operations, so evaluating every segment's rules costs about one pass over the users
per field the rules read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set

from plutoctl.model import User
from plutoctl.rules.conditions import (
    STANDARD_PREFIX,
    CompiledRule,
    Condition,
    field_value,
    normalise,
)

# A condition's matches as (is_negated, pieces): the users are the union of the pieces,
# disjoint buckets of the index (one per matching value), so that nothing is copied
# until needed. Negated means "everyone but these", so that AND chains subtract instead
# of building complements of the whole site.
_Pieces = tuple[Set[str], ...]
_Match = tuple[bool, _Pieces]


class UserIndex:
    """Users indexed per field by normalised value, built lazily, one field at a time."""

    def __init__(self, users: Mapping[str, User]) -> None:
        self.users = users
        self.everyone = frozenset(users)
        self._by_value: dict[str, dict[str, set[str]]] = {}
        self._defined: dict[str, frozenset[str]] = {}
        self._memo: dict[Condition, _Match] = {}
        self._joined: dict[Condition, Set[str]] = {}

    def by_value(self, name: str) -> dict[str, set[str]]:
        """Return normalised value → usernames; users without a value are under ''."""
        index = self._by_value.get(name)
        if index is None:
            index = self._build(name)
            self._by_value[name] = index
        return index

    def defined(self, name: str) -> frozenset[str]:
        """Return the usernames that have a value for the field."""
        if name.startswith(STANDARD_PREFIX):
            return self.everyone
        found = self._defined.get(name)
        if found is None:
            found = frozenset(u for u, user in self.users.items() if name in user.custom)
            self._defined[name] = found
        return found

    def _build(self, name: str) -> dict[str, set[str]]:
        index: dict[str, set[str]] = {}
        folded: dict[str, str] = {}
        # The raw values are gathered by a list comprehension first, then paired up:
        # cheaper than a generator per user over 100,000 users.
        for username, raw in zip(self.users, self._raw_values(name), strict=True):
            key = folded.get(raw)
            if key is None:
                key = folded[raw] = normalise(raw)
            bucket = index.get(key)
            if bucket is None:
                index[key] = {username}
            else:
                bucket.add(username)
        return index

    def _raw_values(self, name: str) -> list[str]:
        """Return the raw value of the field (or '') of every user, in ``users`` order."""
        users = self.users.values()
        if not name.startswith(STANDARD_PREFIX):
            return [user.custom.get(name) or "" for user in users]
        if name in (STANDARD_PREFIX + "username", STANDARD_PREFIX + "suspended"):
            return [field_value(user, name) or "" for user in users]
        standard = name[len(STANDARD_PREFIX) :]
        return [user.standard.get(standard) or "" for user in users]

    def matches(self, condition: Condition) -> _Match:
        """Return who the condition selects, memoised per condition."""
        found = self._memo.get(condition)
        if found is None:
            found = self._memo[condition] = self._compute(condition)
        return found

    def _compute(self, c: Condition) -> _Match:
        if c.match in ("defined", "notdefined"):
            return (c.match == "notdefined", (self.defined(c.field),))
        index = self.by_value(c.field)
        match c.match:
            case "exact" | "in" | "notexact":
                pieces = _pieces(index.get(v) for v in set(c.folded))
                return (c.match == "notexact", pieces)
            case "contains" | "notcontains":
                hits = (s for key, s in index.items() if any(v in key for v in c.folded))
                return (c.match == "notcontains", _pieces(hits))
            case _:  # empty, notempty
                return (c.match == "notempty", _pieces([index.get("")]))

    def rule_members(self, rule: CompiledRule) -> _Pieces:
        """Return the users for whom every condition of the rule holds, as pieces."""
        positive = sorted(
            (c for c in rule.conditions if not self.matches(c)[0]),
            key=lambda c: _size(self.matches(c)[1]),
        )
        negative = [p for c in rule.conditions if self.matches(c)[0] for p in self.matches(c)[1]]
        if len(positive) == 1 and not negative:
            return self.matches(positive[0])[1]
        members: Set[str] = self.joined(positive[0]) if positive else self.everyone
        for c in positive[1:]:
            pieces = self.matches(c)[1]
            # Filtering a small set bucket by bucket costs no more than joining the buckets.
            members = members & pieces[0] if len(pieces) == 1 else _filtered(members, pieces)
        if len(negative) == 1:
            members = members - negative[0]
        elif negative:
            # One subtraction of the joined exclusions copies the members only once.
            members = members - frozenset().union(*negative)
        return (members,)

    def joined(self, condition: Condition) -> Set[str]:
        """Return a condition's pieces as one set, memoised (rules share conditions)."""
        found = self._joined.get(condition)
        if found is None:
            pieces = self.matches(condition)[1]
            found = pieces[0] if len(pieces) == 1 else frozenset().union(*pieces)
            self._joined[condition] = found
        return found


def _pieces(sets: Iterable[Set[str] | None]) -> _Pieces:
    return tuple(s for s in sets if s)


def _size(pieces: _Pieces) -> int:
    return sum(map(len, pieces))


def _filtered(members: Set[str], pieces: _Pieces) -> Set[str]:
    return frozenset().union(*(members & piece for piece in pieces))
