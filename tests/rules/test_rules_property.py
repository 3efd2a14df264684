"""The indexed evaluation agrees with a naive per-user evaluation and with explain."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from plutoctl.config.schema import AllRule, MatchRule
from plutoctl.model import User
from plutoctl.rules.rule_set import RuleSet

FIELDS = ["department", "region", "flag", "user.department", "user.username"]
BASE_VALUES = ["Sales", "sales ", " HR", "<i>Sales</i>", "emea-north", "", "1", "0", "u1"]
MATCHES = ["exact", "notexact", "contains", "notcontains", "defined", "notdefined",
           "empty", "notempty", "in"]  # fmt: skip


def naive_value(user: User, field: str) -> str | None:
    if field == "user.username":
        return user.username
    if field.startswith("user."):
        return user.standard.get(field[5:], "")
    return user.custom.get(field)


def naive_holds(rule: MatchRule, user: User) -> bool:
    raw = naive_value(user, rule.field)
    if rule.match == "defined":
        return raw is not None
    if rule.match == "notdefined":
        return raw is None
    have = re.sub(r"<[^>]*>", "", raw or "").strip().lower()
    wanted = [v.strip().lower() for v in (rule.value if isinstance(rule.value, list) else
                                          [rule.value or ""])]  # fmt: skip
    return {
        "exact": lambda: have in wanted,
        "in": lambda: have in wanted,
        "notexact": lambda: have not in wanted,
        "contains": lambda: any(w in have for w in wanted),
        "notcontains": lambda: not any(w in have for w in wanted),
        "empty": lambda: have == "",
        "notempty": lambda: have != "",
    }[rule.match]()


def naive_rule(rule: MatchRule | AllRule, user: User) -> bool:
    if isinstance(rule, MatchRule):
        return naive_holds(rule, user)
    return all(naive_rule(inner, user) for inner in rule.all)


# Strategies are made once, here, not in each draw: Hypothesis works out a new
# strategy's properties each time it meets one, which cost more than the tests' own code.
values = st.sampled_from(BASE_VALUES)
matches = st.sampled_from(MATCHES)
value_lists = st.lists(values, min_size=1, max_size=3)
field_names = st.sampled_from(FIELDS)
user_counts = st.integers(min_value=0, max_value=12)
custom_profiles = st.dictionaries(st.sampled_from(FIELDS[:3]), values, max_size=3)
standard_profiles = st.dictionaries(st.just("department"), values, max_size=1)


@st.composite
def match_rules(draw: st.DrawFn) -> MatchRule:
    match = draw(matches)
    value: object = None
    if match == "in":
        value = draw(value_lists)
    elif match not in ("defined", "notdefined", "empty", "notempty"):
        value = draw(values)
    return MatchRule.model_validate({"field": draw(field_names), "match": match, "value": value})


rules = st.recursive(
    match_rules(),
    lambda inner: st.lists(inner, min_size=1, max_size=3).map(lambda r: AllRule(all=r)),
    max_leaves=5,
)


@st.composite
def users(draw: st.DrawFn) -> dict[str, User]:
    count = draw(user_counts)
    found = {}
    for i in range(count):
        custom = draw(custom_profiles)
        standard = draw(standard_profiles)
        found[f"u{i}"] = User(i, f"u{i}", standard=standard, custom=custom)
    return found


@settings(max_examples=120, deadline=None)
@given(
    users=users(),
    segment_rules=st.dictionaries(
        st.sampled_from(["a", "b", "c"]), st.lists(rules, max_size=4), max_size=3
    ),
)
def test_indexed_equals_naive(
    users: dict[str, User], segment_rules: dict[str, list[MatchRule | AllRule]]
) -> None:
    ruleset = RuleSet.compile(segment_rules)
    result = ruleset.evaluate(users, {})
    assert set(result) == set(segment_rules)
    for segment, seg_rules in segment_rules.items():
        expected = {u for u, user in users.items() if any(naive_rule(r, user) for r in seg_rules)}
        assert result[segment] == expected
        for username, user in users.items():
            verdicts = ruleset.explain(user, segment)
            assert len(verdicts) == len(seg_rules)
            assert any(v.matched for v in verdicts) == (username in expected)
