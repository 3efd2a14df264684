"""The rule language: one ``{field, match, value}`` condition, and how values compare.

A config rule compiles to a flat AND of conditions (``compile_rule``). Values compare
after ``normalise`` (the user's: tags stripped, trimmed, case-folded) and ``fold``
(the rule's: trimmed, case-folded).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from plutoctl.config.schema import VALUELESS_MATCHES, AllRule, MatchRule
from plutoctl.model import User
from plutoctl.phptext import strip_tags, trim

STANDARD_PREFIX = "user."
RuleValue = str | tuple[str, ...] | None


def normalise(value: str) -> str:
    """Return a user's field value as rules compare it: as Pluto does, tags stripped
    and trimmed as PHP's ``strip_tags`` and ``trim`` do it; then case-folded."""
    return trim(strip_tags(value)).casefold()


def fold(value: str) -> str:
    """Return a rule's value as rules compare it: trimmed (as PHP does) and case-folded."""
    return trim(value).casefold()


@dataclass(frozen=True, slots=True)
class Condition:
    """One ``{field, match, value}`` test, with its value folded for comparison."""

    field: str
    match: str
    value: RuleValue
    folded: tuple[str, ...]
    has_boolean: bool = False
    """The value was written as YAML's true or false (``MatchRule.has_boolean``)."""

    @classmethod
    def of(cls, rule: MatchRule) -> Condition:
        value: RuleValue = tuple(rule.value) if isinstance(rule.value, list) else rule.value
        if rule.match in VALUELESS_MATCHES:
            folded: tuple[str, ...] = ()
        elif isinstance(value, tuple):
            folded = tuple(fold(v) for v in value)
        else:
            folded = (fold(value or ""),)
        return cls(rule.field, rule.match, value, folded, rule.has_boolean)

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


ACCOUNT_FIELDS = frozenset({"user.suspended", "user.auth", "user.lang"})
"""The standard fields no listing of users gives (a lookup by field does): a user the
lookup did not answer for has them unread, and a rule must not take that for empty."""


def is_unread(user: User, name: str) -> bool:
    """Return whether account field ``name`` (``ACCOUNT_FIELDS``) was not read for ``user``."""
    if name == STANDARD_PREFIX + "suspended":
        return field_value(user, name) is None
    return name[len(STANDARD_PREFIX) :] not in user.standard


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
