"""Rule semantics: every match type against every field type, as tables."""

from __future__ import annotations

import pytest

from plutoctl.config.schema import AllRule, MatchRule
from plutoctl.model import User
from plutoctl.rules.conditions import normalise
from plutoctl.rules.rule_set import RuleSet

# (id, stored value or None when not defined, match, rule value, expected)
TEXT_CASES = [
    ("exact-same", "Sales", "exact", "Sales", True),
    ("exact-case-folded", "SALES", "exact", "sales", True),
    ("exact-trimmed", "  Sales \n", "exact", " Sales", True),
    ("exact-tags-stripped", "<b>Sales</b>", "exact", "Sales", True),
    ("exact-other", "HR", "exact", "Sales", False),
    ("exact-substring-is-not-exact", "Sales EMEA", "exact", "Sales", False),
    ("exact-undefined", None, "exact", "Sales", False),
    ("notexact-other", "HR", "notexact", "Sales", True),
    ("notexact-same-folded", " sales ", "notexact", "SALES", False),
    ("notexact-undefined-counts-as-empty", None, "notexact", "Sales", True),
    ("contains-middle", "North EMEA West", "contains", "emea", True),
    ("contains-tag-text-not-matched", "<span class='emea'>x</span>", "contains", "emea", False),
    ("contains-absent", "APAC", "contains", "emea", False),
    ("contains-undefined", None, "contains", "emea", False),
    ("notcontains-absent", "APAC", "notcontains", "emea", True),
    ("notcontains-present", "emea-1", "notcontains", "EMEA", False),
    ("notcontains-undefined", None, "notcontains", "emea", True),
    ("defined-with-value", "x", "defined", None, True),
    ("defined-empty-row", "", "defined", None, True),
    ("defined-undefined", None, "defined", None, False),
    ("notdefined-undefined", None, "notdefined", None, True),
    ("notdefined-with-value", "x", "notdefined", None, False),
    ("empty-undefined", None, "empty", None, True),
    ("empty-blank", "   ", "empty", None, True),
    ("empty-only-tags", "<p></p>", "empty", None, True),
    ("empty-with-value", "x", "empty", None, False),
    ("notempty-with-value", "x", "notempty", None, True),
    ("notempty-blank", " \t", "notempty", None, False),
    ("notempty-undefined", None, "notempty", None, False),
    ("in-listed", "HR", "in", ["Sales", "hr"], True),
    ("in-not-listed", "IT", "in", ["Sales", "HR"], False),
    ("in-single-value", "HR", "in", "hr", True),
    ("in-undefined", None, "in", ["Sales"], False),
]

MENU_CASES = [
    ("menu-exact", "Sales", "exact", "Sales", True),
    ("menu-exact-folded", "Sales", "exact", "sales", True),
    ("menu-exact-other", "Ops", "exact", "Sales", False),
    ("menu-notexact", "Ops", "notexact", "Sales", True),
    ("menu-in", "Ops", "in", ["IT", "Ops"], True),
    ("menu-defined", "Ops", "defined", None, True),
    ("menu-notdefined", None, "notdefined", None, True),
]

CHECKBOX_CASES = [
    ("checkbox-ticked", "1", "exact", "1", True),
    ("checkbox-unticked", "0", "exact", "1", False),
    ("checkbox-unticked-exact-0", "0", "exact", "0", True),
    ("checkbox-notexact", "0", "notexact", "1", True),
    ("checkbox-undefined-not-ticked", None, "exact", "1", False),
    ("checkbox-defined", "0", "defined", None, True),
    ("checkbox-notdefined", None, "notdefined", None, True),
    ("checkbox-true-from-yaml", "1", "exact", True, True),
]


def evaluate(rule: MatchRule | AllRule, users: dict[str, User]) -> frozenset[str]:
    return RuleSet.compile({"seg": [rule]}).evaluate(users, {})["seg"]


def user_with(value: str | None, username: str = "u1") -> User:
    custom = {} if value is None else {"field": value}
    return User(id=1, username=username, custom=custom)


@pytest.mark.parametrize(
    ("stored", "match", "value", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in TEXT_CASES + MENU_CASES + CHECKBOX_CASES],
)
def test_custom_field_match(stored: str | None, match: str, value: object, expected: bool) -> None:
    rule = MatchRule.model_validate({"field": "field", "match": match, "value": value})
    users = {"u1": user_with(stored), "other": user_with("zzz-unrelated", "other")}
    members = evaluate(rule, users)
    assert ("u1" in members) is expected
    verdict = RuleSet.compile({"s": [rule]}).explain(users["u1"], "s")
    assert verdict[0].matched is expected


STANDARD_CASES = [
    ("std-department", {"department": "Sales"}, "user.department", "exact", "sales", True),
    ("std-missing-is-empty", {}, "user.department", "empty", None, True),
    ("std-always-defined", {}, "user.city", "defined", None, True),
    ("std-never-notdefined", {}, "user.city", "notdefined", None, False),
    ("std-username", {}, "user.username", "exact", "U1", True),
    ("std-email-contains", {"email": "a@Example.com"}, "user.email", "contains", "example", True),
    ("std-suspended-from-map", {"suspended": "1"}, "user.suspended", "exact", "1", True),
    ("std-country-in", {"country": "NZ"}, "user.country", "in", ["au", "nz"], True),
]


@pytest.mark.parametrize(
    ("standard", "field", "match", "value", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in STANDARD_CASES],
)
def test_standard_field_match(
    standard: dict[str, str], field: str, match: str, value: object, expected: bool
) -> None:
    rule = MatchRule.model_validate({"field": field, "match": match, "value": value})
    users = {"u1": User(id=1, username="u1", standard=standard)}
    assert ("u1" in evaluate(rule, users)) is expected


def test_standard_and_custom_department_are_kept_apart() -> None:
    user = User(1, "u1", standard={"department": "HR"}, custom={"department": "Sales"})
    users = {"u1": user}
    custom = MatchRule(field="department", match="exact", value="Sales")
    standard = MatchRule(field="user.department", match="exact", value="Sales")
    assert evaluate(custom, users) == {"u1"}
    assert evaluate(standard, users) == frozenset()


def test_suspended_falls_back_to_the_user_flag() -> None:
    users = {"s": User(1, "s", suspended=True), "a": User(2, "a")}
    rule = MatchRule(field="user.suspended", match="exact", value="1")
    assert evaluate(rule, users) == {"s"}


def people() -> dict[str, User]:
    rows = {
        "ann": {"department": "Sales", "region": "EMEA North", "jobrole": "rep"},
        "bob": {"department": "Sales", "region": "APAC"},
        "cat": {"department": "HR", "region": "emea", "jobrole": ""},
        "dan": {"region": "EMEA", "jobrole": "lead"},
        "eve": {},
    }
    return {name: User(i, name, custom=c) for i, (name, c) in enumerate(rows.items())}


ALL_CASES = [
    ("and-both", [("region", "contains", "emea"), ("jobrole", "notempty", None)], {"ann", "dan"}),
    (
        "and-positive-and-negative",
        [("region", "contains", "emea"), ("department", "notexact", "HR")],
        {"ann", "dan"},
    ),
    (
        "and-only-negatives",
        [("department", "notexact", "HR"), ("region", "notcontains", "apac")],
        {"ann", "dan", "eve"},
    ),
    ("and-disjoint", [("department", "exact", "Sales"), ("department", "exact", "HR")], set()),
    ("and-defined-chain", [("jobrole", "defined", None), ("jobrole", "empty", None)], {"cat"}),
    ("and-single", [("department", "in", ["hr", "sales"])], {"ann", "bob", "cat"}),
]


@pytest.mark.parametrize(
    ("conditions", "expected"), [pytest.param(c[1], c[2], id=c[0]) for c in ALL_CASES]
)
def test_all_chain(conditions: list[tuple[str, str, object]], expected: set[str]) -> None:
    rule = AllRule.model_validate(
        {"all": [{"field": f, "match": m, "value": v} for f, m, v in conditions]}
    )
    assert evaluate(rule, people()) == expected


def test_top_level_rules_are_ored_and_nested_all_flattens() -> None:
    rules = [
        MatchRule(field="department", match="exact", value="HR"),
        AllRule.model_validate(
            {
                "all": [
                    {"field": "region", "match": "contains", "value": "emea"},
                    {"all": [{"field": "jobrole", "match": "exact", "value": "LEAD"}]},
                ]
            }
        ),
    ]
    result = RuleSet.compile({"s": rules, "none": []}).evaluate(people(), {})
    assert result == {"s": {"cat", "dan"}, "none": frozenset()}


def test_evaluate_returns_every_segment_and_repeated_conditions_agree() -> None:
    rule = MatchRule(field="department", match="exact", value="Sales")
    result = RuleSet.compile({"a": [rule], "b": [rule, rule]}).evaluate(people(), {})
    assert result["a"] == result["b"] == {"ann", "bob"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("  Mixed Case ", "mixed case", id="trim-fold"),
        pytest.param("<p>Hello <b>World</b></p>", "hello world", id="tags"),
        pytest.param("a < b", "a < b", id="bare-less-than-is-text"),
        # As PHP's strip_tags: a "<" before anything but white space opens a tag, which
        # runs to the end when no ">" closes it; a quoted ">" closes nothing.
        pytest.param("Grade <5 years", "grade", id="unclosed-tag-runs-to-the-end"),
        pytest.param('<span title="a>b">Sales</span>', "sales", id="quoted-gt"),
        pytest.param("<!-- c > d -->Sales", "sales", id="comment"),
        # As PHP's trim: ASCII white space only; a no-break space is part of the value.
        pytest.param("Sales\u00a0", "sales\u00a0", id="no-break-space-kept"),
        pytest.param("\tSales\r\n", "sales", id="ascii-space-trimmed"),
        pytest.param("STRASSE", "strasse", id="ascii"),
        pytest.param("Straße", "strasse", id="casefold-not-lower"),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected
