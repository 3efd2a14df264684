"""A config's rules, compiled once: evaluated against a site's users, explained, checked."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

from plutoctl.config.schema import AllRule, MatchRule
from plutoctl.model import User
from plutoctl.rules.check import RuleProblem, condition_problems
from plutoctl.rules.conditions import (
    STANDARD_PREFIX,
    CompiledRule,
    Condition,
    compile_rule,
    normalise,
)
from plutoctl.rules.index import UserIndex


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
        index = UserIndex(users)
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
        standard = {f[len(STANDARD_PREFIX) :] for f in self.fields if f.startswith(STANDARD_PREFIX)}
        # Found at the first user with a value, as a rule's field almost always is.
        filled = {n for n in standard if any(u.standard.get(n) for u in users.values())}
        problems = []
        for segment, rules in self.rules.items():
            for i, rule in enumerate(rules):
                for c in rule.conditions:
                    for message in condition_problems(c, known, field_types, declared, filled):
                        problems.append(RuleProblem(segment, i, message))
        return problems

    def case_twins(
        self, users: Mapping[str, User], field_types: Mapping[str, str]
    ) -> list[tuple[str, str, str]]:
        """Return ``(field, value, twin)`` for each menu field the rules use whose users
        hold two values that compare as one (``EMEA`` and ``emea``): rules fold case,
        Pluto's automation compares menu values exactly."""
        twins = []
        for name in sorted(self.fields):
            if field_types.get(name) != "menu":
                continue
            values = {user.custom.get(name) for user in users.values()} - {None}
            first: dict[str, str] = {}
            for value in sorted(cast(set[str], values)):
                seen = first.setdefault(normalise(value), value)
                if seen != value:
                    twins.append((name, seen, value))
                    break
        return twins
