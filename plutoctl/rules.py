"""Rule evaluation and explanation: Pluto's User Segment Automation (docs/rules.md).

plutoctl evaluates rules itself, because the LMS API has no rule functions. The
semantics follow Pluto's automation plugin (docs/moodle.md, "Segment automation"):

- A segment's top-level rules are OR'ed; ``all`` is AND (nested ``all`` flattens).
- Text matches compare the user's value after ``strip_tags``, trim and case-fold
  against the rule's value after trim and case-fold. Menu and checkbox fields
  compare the same way: Pluto compares menu values exactly, but menu values come
  from a fixed option list, so folding case only forgives a config typo and cannot
  confuse two options.
- ``defined`` means the user has a value for the field (it is in ``User.custom``);
  standard fields (``user.<name>``) are always defined.
- A user without a value counts as having the empty value for every other match.
  The web-service API omits empty custom fields, so plutoctl cannot tell an empty
  value from a missing one; it treats both as empty (``empty`` holds,
  ``notexact 'Sales'`` holds).

Evaluation indexes users once per field by normalised value, so ``exact`` and
``in`` are dictionary lookups and a segment's members are set operations.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field

from plutoctl.config.schema import STANDARD_FIELDS, VALUELESS_MATCHES, AllRule, MatchRule
from plutoctl.model import User

STANDARD_PREFIX = "user."
RuleValue = str | tuple[str, ...] | None

# Like PHP's strip_tags for the cases that matter: a tag starts with a letter, "/",
# "!" or "?"; a bare "<" (as in "a < b") is text.
_TAG = re.compile(r"<[A-Za-z/!?][^>]*>?")

# What each custom field type accepts (docs/moodle.md, "Segment automation"). Text and textarea take
# every match. ``in`` is accepted on menu and checkbox fields as well: it is exact
# against each listed value, so it means the same thing on every type.
_TYPE_MATCHES: Mapping[str, frozenset[str]] = {
    "menu": frozenset({"exact", "notexact", "in", "defined", "notdefined"}),
    "checkbox": frozenset({"exact", "notexact", "in", "defined", "notdefined"}),
}
_RULE_TYPES = frozenset({"text", "textarea", "menu", "checkbox"})
_CHECKBOX_VALUES = frozenset({"0", "1"})


def normalise(value: str) -> str:
    """Return a user's field value as rules compare it: tags stripped, trimmed, folded."""
    if "<" in value:
        value = _TAG.sub("", value)
    return value.strip().casefold()


def fold(value: str) -> str:
    """Return a rule's value as rules compare it: trimmed and case-folded."""
    return value.strip().casefold()


@dataclass(frozen=True, slots=True)
class Condition:
    """One ``{field, match, value}`` test, with its value folded for comparison."""

    field: str
    match: str
    value: RuleValue
    folded: tuple[str, ...]

    @classmethod
    def of(cls, rule: MatchRule) -> Condition:
        value: RuleValue = tuple(rule.value) if isinstance(rule.value, list) else rule.value
        if rule.match in VALUELESS_MATCHES:
            folded: tuple[str, ...] = ()
        elif isinstance(value, tuple):
            folded = tuple(fold(v) for v in value)
        else:
            folded = (fold(value or ""),)
        return cls(rule.field, rule.match, value, folded)

    @property
    def is_standard(self) -> bool:
        return self.field.startswith(STANDARD_PREFIX)

    def value_of(self, user: User) -> str | None:
        """Return the user's raw value for this field, or None when it is not defined."""
        return field_value(user, self.field)

    def holds_for(self, raw: str | None) -> bool:
        """Return whether the condition holds for a user whose value is ``raw``."""
        if self.match == "defined":
            return raw is not None
        if self.match == "notdefined":
            return raw is None
        value = normalise(raw or "")
        match self.match:
            case "exact" | "in":
                return value in self.folded
            case "notexact":
                return value not in self.folded
            case "contains":
                return any(v in value for v in self.folded)
            case "notcontains":
                return not any(v in value for v in self.folded)
            case "empty":
                return not value
            case _:  # notempty
                return bool(value)

    def describe(self) -> str:
        """Return the condition as a person reads it: ``department exact 'Sales'``."""
        if self.match in VALUELESS_MATCHES:
            return f"{self.field} {self.match}"
        return f"{self.field} {self.match} {show_value(self.value)}"

    def describe_wanted(self) -> str:
        """Return what the condition wants: ``'Sales'``, ``contains 'emea'``, ``notempty``."""
        if self.match == "exact":
            return show_value(self.value)
        if self.match == "in":
            return "one of " + show_value(self.value)
        if self.match in VALUELESS_MATCHES:
            return self.match
        return f"{self.match} {show_value(self.value)}"


def show_value(value: RuleValue) -> str:
    """Return a rule value quoted for messages."""
    if value is None:
        return "''"
    if isinstance(value, tuple):
        return ", ".join(repr(v) for v in value)
    return repr(value)


def field_value(user: User, name: str) -> str | None:
    """Return a user's raw value for a rule field name, or None when not defined."""
    if not name.startswith(STANDARD_PREFIX):
        return user.custom.get(name)
    standard = name[len(STANDARD_PREFIX) :]
    if standard == "username":
        return user.username
    if standard == "suspended":
        if "suspended" in user.standard or user.suspended is None:
            return user.standard.get("suspended")  # None when the site did not say
        return "1" if user.suspended else "0"
    return user.standard.get(standard, "")


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A top-level rule: its conditions must all hold (a plain rule has one)."""

    conditions: tuple[Condition, ...]


def compile_rule(rule: MatchRule | AllRule) -> CompiledRule:
    """Return a config rule as a flat AND of conditions."""
    return CompiledRule(tuple(_conditions(rule)))


def _conditions(rule: MatchRule | AllRule) -> Iterable[Condition]:
    if isinstance(rule, MatchRule):
        yield Condition.of(rule)
        return
    for inner in rule.all:
        yield from _conditions(inner)


@dataclass(frozen=True, slots=True)
class ConditionVerdict:
    """How one condition fared for one user."""

    condition: Condition
    user_value: str | None
    held: bool

    def describe(self) -> str:
        """Return ``department exact 'Sales' (value 'Sales')`` or the reason it failed."""
        shown = "not defined" if self.user_value is None else f"value {self.user_value!r}"
        if self.held:
            return f"{self.condition.describe()} ({shown})"
        actual = "not defined" if self.user_value is None else f"is {self.user_value!r}"
        return f"{self.condition.field} {actual}, wanted {self.condition.describe_wanted()}"


@dataclass(frozen=True, slots=True)
class RuleVerdict:
    """How one top-level rule fared for one user; ``index`` is 0-based."""

    index: int
    matched: bool
    conditions: tuple[ConditionVerdict, ...]

    def describe(self) -> str:
        """Return ``rule 2 matched: …`` or ``rule 1: …`` naming the failed conditions."""
        if self.matched:
            held = "; ".join(c.describe() for c in self.conditions)
            return f"rule {self.index + 1} matched: {held}"
        failed = "; ".join(c.describe() for c in self.conditions if not c.held)
        return f"rule {self.index + 1}: {failed}"


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """A rule the site cannot evaluate as written; ``rule_index`` is 0-based."""

    segment: str
    rule_index: int
    message: str


# A condition's matches as (is_negated, pieces): the users are the union of the pieces,
# disjoint buckets of the index (one per matching value), so that nothing is copied
# until needed. Negated means "everyone but these", so that AND chains subtract instead
# of building complements of the whole site.
_Pieces = tuple[Set[str], ...]
_Match = tuple[bool, _Pieces]


class _UserIndex:
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
        for username, raw in self._raw_values(name):
            key = folded.get(raw)
            if key is None:
                key = folded[raw] = normalise(raw)
            bucket = index.get(key)
            if bucket is None:
                index[key] = {username}
            else:
                bucket.add(username)
        return index

    def _raw_values(self, name: str) -> Iterable[tuple[str, str]]:
        """Yield (username, raw value or '') for every user; the hot loop of indexing."""
        if not name.startswith(STANDARD_PREFIX):
            return ((u, user.custom.get(name) or "") for u, user in self.users.items())
        if name in (STANDARD_PREFIX + "username", STANDARD_PREFIX + "suspended"):
            return ((u, field_value(user, name) or "") for u, user in self.users.items())
        standard = name[len(STANDARD_PREFIX) :]
        return ((u, user.standard.get(standard) or "") for u, user in self.users.items())

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


@dataclass(frozen=True)
class RuleSet:
    """The compiled rules of several segments, ready to evaluate against a site's users."""

    rules: Mapping[str, tuple[CompiledRule, ...]] = field(default_factory=dict)

    @classmethod
    def compile(cls, segment_rules: Mapping[str, Sequence[MatchRule | AllRule]]) -> RuleSet:
        """Return the rule set of segment ID → its config rules."""
        compiled = {seg: tuple(map(compile_rule, rules)) for seg, rules in segment_rules.items()}
        return cls(compiled)

    @property
    def fields(self) -> frozenset[str]:
        """Return every field name the rules use (``user.<name>`` for standard ones)."""
        return frozenset(
            c.field for rules in self.rules.values() for r in rules for c in r.conditions
        )

    def evaluate(
        self, users: Mapping[str, User], field_types: Mapping[str, str] | None = None
    ) -> dict[str, frozenset[str]]:
        """Return segment ID → usernames matching any of its rules.

        ``field_types`` does not change matching (every type compares the same way);
        it is accepted so that callers pass the same arguments as to ``check``.
        """
        index = _UserIndex(users)
        result: dict[str, frozenset[str]] = {}
        for segment, rules in self.rules.items():
            pieces = [piece for rule in rules for piece in index.rule_members(rule)]
            result[segment] = frozenset().union(*pieces)
        return result

    def explain(
        self, user: User, segment: str, field_types: Mapping[str, str] | None = None
    ) -> list[RuleVerdict]:
        """Return, per top-level rule of the segment, whether it matched the user and why."""
        verdicts = []
        for i, rule in enumerate(self.rules.get(segment, ())):
            conditions = tuple(
                ConditionVerdict(c, raw := c.value_of(user), c.holds_for(raw))
                for c in rule.conditions
            )
            verdicts.append(RuleVerdict(i, all(v.held for v in conditions), conditions))
        return verdicts

    def check(
        self,
        users: Mapping[str, User],
        field_types: Mapping[str, str],
        declared: Collection[str] = (),
    ) -> list[RuleProblem]:
        """Return every rule that names a field the site does not show, or a match its
        type cannot take.

        The web service shows a custom field only on users with a value for it, so a
        field nobody has filled in looks like a typo; ``declared`` names the fields the
        config says exist all the same.
        """
        known = set(field_types)
        for user in users.values():
            known.update(user.custom)
        problems = []
        for segment, rules in self.rules.items():
            for i, rule in enumerate(rules):
                for c in rule.conditions:
                    for message in _condition_problems(c, known, field_types, declared):
                        problems.append(RuleProblem(segment, i, message))
        return problems


def _condition_problems(
    c: Condition, known: set[str], field_types: Mapping[str, str], declared: Collection[str]
) -> list[str]:
    """Return what is wrong with one condition on a site (empty when it is fine)."""
    problems = _value_problems(c)
    if c.is_standard:
        name = c.field[len(STANDARD_PREFIX) :]
        if name not in STANDARD_FIELDS:
            problems.append(f"{c.field!r} is not a standard user field")
        elif name == "suspended":
            problems += _type_problems(c, "checkbox")
        return problems
    if c.field not in known:
        if c.field not in declared:
            problems.append(_unknown_field(c.field, known))
        return problems
    # A field seen only in users' values, with no type, is compared as text.
    return problems + _type_problems(c, field_types.get(c.field, "text"))


def _unknown_field(name: str, known: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    guess = f"did you mean {close[0]!r}? " if close else ""
    return (
        f"no user on this site has a value for profile field {name!r}: {guess}"
        f"if the field exists and nobody has filled it in yet, declare it in the site's "
        f"profile_fields"
    )


def _value_problems(c: Condition) -> list[str]:
    if c.match in VALUELESS_MATCHES:
        return []  # a stray value is ignored, as Pluto's form ignores it
    if c.value is None or c.value == "" or c.value == ():
        return [f"match {c.match!r} on {c.field!r} needs a value"]
    if isinstance(c.value, tuple) and c.match != "in":
        return [f"match {c.match!r} on {c.field!r} takes one value; use 'in' for a list"]
    return []


def _type_problems(c: Condition, kind: str) -> list[str]:
    if kind not in _RULE_TYPES:
        return [f"{c.field!r} is a {kind} field, which rules cannot test"]
    allowed = _TYPE_MATCHES.get(kind)
    if allowed is not None and c.match not in allowed:
        names = ", ".join(sorted(allowed))
        return [f"a {kind} field like {c.field!r} cannot take match {c.match!r} (only {names})"]
    if kind == "checkbox" and not set(c.folded) <= _CHECKBOX_VALUES:
        return [f"checkbox field {c.field!r} holds 0 or 1, not {show_value(c.value)}"]
    return []
