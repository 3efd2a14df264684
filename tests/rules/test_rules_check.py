"""Rule problems a site reports: unknown fields, and matches a field type cannot take."""

from __future__ import annotations

import pytest

from plutoctl.config.schema import MatchRule
from plutoctl.model import User
from plutoctl.rules.check import RuleProblem
from plutoctl.rules.rule_set import RuleSet

USERS = {
    "ann": User(
        1,
        "ann",
        standard={"department": "Sales", "city": "Paris", "institution": ""},
        custom={"department": "Sales", "notes": "x", "ok": "1", "ok2": "1"},
    ),
    "bob": User(2, "bob", custom={"when": "1700000000"}),
}
TYPES = {"department": "menu", "ok": "checkbox", "notes": "textarea", "when": "datetime"}


def problems(field: str, match: str, value: object = None) -> list[str]:
    rule = MatchRule.model_validate({"field": field, "match": match, "value": value})
    found = RuleSet.compile({"seg": [rule]}).check(USERS, TYPES)
    assert all(p.segment == "seg" and p.rule_index == 0 for p in found)
    return [p.message for p in found]


ACCEPTED = [
    ("text-contains", "notes", "contains", "x"),
    ("text-empty", "notes", "empty", None),
    ("menu-exact", "department", "exact", "Sales"),
    ("menu-notexact", "department", "notexact", "Sales"),
    ("menu-in", "department", "in", ["Sales", "HR"]),
    ("menu-defined", "department", "defined", None),
    ("menu-notdefined", "department", "notdefined", None),
    ("checkbox-exact-1", "ok", "exact", "1"),
    ("checkbox-notexact-0", "ok", "notexact", "0"),
    ("checkbox-defined", "ok", "defined", None),
    ("checkbox-in-0-1", "ok", "in", ["0", "1"]),
    ("checkbox-yaml-true", "ok", "exact", True),
    ("checkbox-yaml-false-in-a-list", "ok", "in", [False, True]),
    ("suspended-yaml-true", "user.suspended", "exact", True),
    ("text-quoted-true", "notes", "exact", "true"),
    ("standard-field", "user.department", "contains", "sa"),
    ("standard-suspended", "user.suspended", "exact", "0"),
    ("field-known-from-types-only", "department", "exact", "Ops"),
]


@pytest.mark.parametrize(
    ("field", "match", "value"), [pytest.param(*c[1:], id=c[0]) for c in ACCEPTED]
)
def test_accepted(field: str, match: str, value: object) -> None:
    assert problems(field, match, value) == []


REFUSED = [
    (
        "unknown-field",
        "nosuch",
        "exact",
        "x",
        "no user on this site has a value for profile field 'nosuch'",
    ),
    ("menu-contains", "department", "contains", "Sa", "cannot take match 'contains'"),
    ("menu-empty", "department", "empty", None, "cannot take match 'empty'"),
    ("checkbox-contains", "ok", "contains", "1", "cannot take match 'contains'"),
    ("checkbox-notempty", "ok", "notempty", None, "cannot take match 'notempty'"),
    ("checkbox-yes", "ok", "exact", "yes", "holds 0 or 1, not 'yes'"),
    ("checkbox-in-bad", "ok", "in", ["1", "true"], "holds 0 or 1"),
    ("datetime", "when", "exact", "1", "'when' is a datetime field, which rules cannot test"),
    ("unknown-standard", "user.phone", "exact", "1", "'user.phone' is not a standard user field"),
    ("suspended-as-checkbox", "user.suspended", "exact", "true", "holds 0 or 1"),
    ("value-missing", "notes", "exact", None, "match 'exact' on 'notes' needs a value"),
    ("value-blank", "notes", "contains", "  ", "match 'contains' on 'notes' needs a value"),
    ("in-blank-item", "notes", "in", ["x", " "], "match 'in' on 'notes' has a blank value"),
    ("list-on-exact", "notes", "exact", ["a", "b"], "use 'in' for a list"),
    # YAML's true is a checkbox's 1: on a text field it matched "1", not the text "true".
    ("text-yaml-true", "notes", "exact", True, "'notes' is a textarea field, but its value"),
    ("menu-yaml-true-in-a-list", "department", "in", [True, "yes"], "write it in quotes"),
    ("standard-yaml-false", "user.city", "exact", False, "'user.city' is a text field"),
    ("seen-only-yaml-true", "ok2", "exact", True, "is a text field"),
    # Moodle leaves out a field it hides from the token's user (hiddenuserfields): taken
    # as every user's empty value, a rule on it removed every member.
    (
        "standard-nobody-has",
        "user.institution",
        "exact",
        "Acme",
        "no user on this site has a value for user.institution: the site may hide",
    ),
]


@pytest.mark.parametrize(
    ("field", "match", "value", "message"), [pytest.param(*c[1:], id=c[0]) for c in REFUSED]
)
def test_refused(field: str, match: str, value: object, message: str) -> None:
    found = problems(field, match, value)
    assert len(found) == 1
    assert message in found[0]


def test_problems_name_segment_and_rule_index() -> None:
    good = MatchRule(field="notes", match="notempty")
    bad = MatchRule(field="nosuch", match="defined")
    ruleset = RuleSet.compile({"a": [good], "b": [good, bad]})
    found = ruleset.check(USERS, TYPES)
    assert [(p.segment, p.rule_index) for p in found] == [("b", 1)]
    assert isinstance(found[0], RuleProblem)
