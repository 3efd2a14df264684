"""What a site cannot evaluate as written: unknown fields, and matches a type cannot take."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from plutoctl.config.schema import (
    CHECKBOX_MATCHES,
    CHECKBOX_VALUES,
    STANDARD_FIELDS,
    VALUELESS_MATCHES,
)
from plutoctl.phptext import trim
from plutoctl.rules.conditions import ACCOUNT_FIELDS, STANDARD_PREFIX, Condition, show_value

# What each custom field type accepts (docs/moodle.md, "Segment automation"). Text and
# textarea take every match. ``in`` is accepted on menu and checkbox fields as well:
# it is exact against each listed value, so it means the same thing on every type.
_TYPE_MATCHES: Mapping[str, frozenset[str]] = {
    "menu": CHECKBOX_MATCHES,
    "checkbox": CHECKBOX_MATCHES,
}
_RULE_TYPES = frozenset({"text", "textarea", "menu", "checkbox"})


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """A rule the site cannot evaluate as written; ``rule_index`` is 0-based."""

    segment: str
    rule_index: int
    message: str


ALWAYS_GIVEN = frozenset({"username"} | {f[len(STANDARD_PREFIX) :] for f in ACCOUNT_FIELDS})
"""Standard fields every user has a value of when read (the account fields' reads are
checked on their own: ``plutoctl.rules.conditions.is_unread``)."""


def condition_problems(
    c: Condition,
    known: set[str],
    field_types: Mapping[str, str],
    declared: Collection[str],
    filled: Collection[str] = (),
) -> list[str]:
    """Return what is wrong with one condition on a site (empty when it is fine).

    ``filled`` names the standard fields some user of the site has a value of.
    """
    problems = _value_problems(c)
    if c.is_standard:
        name = c.field[len(STANDARD_PREFIX) :]
        if name not in STANDARD_FIELDS:
            problems.append(f"{c.field!r} is not a standard user field")
        elif name == "suspended":
            problems += _type_problems(c, "checkbox")
        elif c.has_boolean:
            problems.append(_boolean_problem(c, "text"))
        if name in STANDARD_FIELDS and name not in ALWAYS_GIVEN and name not in filled:
            problems.append(_hidden_field(c.field))
        return problems
    if c.field not in known:
        if c.field not in declared:
            return [*problems, _unknown_field(c.field, known)]
        # Declared, and nobody has a value yet: compared as text (docs/rules.md).
        return problems + _type_problems(c, "text")
    # A field seen only in users' values, with no type, is compared as text.
    return problems + _type_problems(c, field_types.get(c.field, "text"))


def _hidden_field(name: str) -> str:
    return (
        f"no user on this site has a value for {name}: the site may hide the field from "
        "the token's user (Site admin > Users > Permissions > User policies > Hide user "
        "fields, unless the user may view hidden details), and a rule would take every "
        "user's value as empty"
    )


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
    if c.value is None or c.value == () or (isinstance(c.value, str) and not trim(c.value)):
        return [f"match {c.match!r} on {c.field!r} needs a value"]
    if isinstance(c.value, tuple) and any(not trim(str(item)) for item in c.value):
        return [f"match {c.match!r} on {c.field!r} has a blank value"]
    if isinstance(c.value, tuple) and c.match != "in":
        return [f"match {c.match!r} on {c.field!r} takes one value; use 'in' for a list"]
    return []


def _boolean_problem(c: Condition, kind: str) -> str:
    return (
        f"{c.field!r} is a {kind} field, but its value is written as true or false, which "
        f"YAML reads as a checkbox's 1 or 0 ({show_value(c.value)}): to match the text "
        "'true' or 'false', write it in quotes"
    )


def _type_problems(c: Condition, kind: str) -> list[str]:
    if kind not in _RULE_TYPES:
        return [f"{c.field!r} is a {kind} field, which rules cannot test"]
    if c.has_boolean and kind != "checkbox":
        return [_boolean_problem(c, kind)]
    allowed = _TYPE_MATCHES.get(kind)
    if allowed is not None and c.match not in allowed:
        names = ", ".join(sorted(allowed))
        return [f"a {kind} field like {c.field!r} cannot take match {c.match!r} (only {names})"]
    if kind == "checkbox" and not set(c.folded) <= CHECKBOX_VALUES:
        return [f"checkbox field {c.field!r} holds 0 or 1, not {show_value(c.value)}"]
    return []
