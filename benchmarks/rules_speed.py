"""Time rule evaluation: 100,000 users × 1,000 rules, typical of a large site.

Most rules are ``exact``/``in`` on a few fields (department, region, jobrole,
the standard country); a tenth are ``contains``, negations and ``all`` chains.
Prints the figures; asserts nothing about time.

    python benchmarks/rules_speed.py [--users N] [--rules N]
"""

from __future__ import annotations

import argparse
import random
import resource
import time

from plutoctl.config.schema import AllRule, MatchRule
from plutoctl.model import User
from plutoctl.rules.rule_set import RuleSet

DEPARTMENTS = [f"Dept {i}" for i in range(200)]
REGIONS = [f"{area}-{i}" for area in ("emea", "apac", "amer") for i in range(30)]
ROLES = [f"role{i}" for i in range(50)]
COUNTRIES = ["GB", "FR", "DE", "US", "NZ", "AU", "JP", "IN", "BR", "ZA"]


def make_users(count: int, rng: random.Random) -> dict[str, User]:
    """Return synthetic users, some without a jobrole (not defined)."""
    users = {}
    for i in range(count):
        custom = {"department": rng.choice(DEPARTMENTS), "region": rng.choice(REGIONS)}
        if rng.random() < 0.8:
            custom["jobrole"] = rng.choice(ROLES)
        name = f"user{i:06d}"
        standard = {"country": rng.choice(COUNTRIES), "city": f"City {i % 500}"}
        users[name] = User(i + 1, name, standard=standard, custom=custom)
    return users


def make_rule(i: int, rng: random.Random) -> MatchRule | AllRule:
    """Return rule ``i``: 90% exact/in, the rest contains, negations and all chains."""
    kind = i % 10
    if kind < 6:
        return MatchRule(field="department", match="exact", value=rng.choice(DEPARTMENTS))
    if kind < 8:
        return MatchRule(field="region", match="in", value=rng.sample(REGIONS, 3))
    if kind == 8:
        return AllRule(
            all=[
                MatchRule(field="jobrole", match="exact", value=rng.choice(ROLES)),
                MatchRule(field="user.country", match="in", value=rng.sample(COUNTRIES, 2)),
            ]
        )
    return AllRule(
        all=[
            MatchRule(field="region", match="contains", value=rng.choice(["emea", "apac"])),
            MatchRule(field="jobrole", match="notempty"),
            MatchRule(field="department", match="notexact", value=rng.choice(DEPARTMENTS)),
        ]
    )


def timed(
    label: str, rules: list[MatchRule | AllRule], users: dict[str, User], per: int
) -> RuleSet:
    """Evaluate ``rules`` (``per`` to a segment) and print the figures."""
    segment_rules = {f"seg{i // per:05d}": rules[i : i + per] for i in range(0, len(rules), per)}
    types = {"department": "menu", "region": "text", "jobrole": "text"}
    start, cpu = time.perf_counter(), time.process_time()
    ruleset = RuleSet.compile(segment_rules)
    members = ruleset.evaluate(users, types)
    wall, used = time.perf_counter() - start, time.process_time() - cpu
    memberships = sum(len(m) for m in members.values())
    print(
        f"{label:<34} {len(rules):>6,} rules {len(segment_rules):>6,} segments "
        f"{memberships:>10,} memberships  {wall:6.3f} s wall  {used:6.3f} s cpu"
    )
    return ruleset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--rules", type=int, default=1_000)
    parser.add_argument("--per-segment", type=int, default=2, help="rules per segment")
    args = parser.parse_args()
    rng = random.Random(5)
    users = make_users(args.users, rng)
    rules = [make_rule(i, rng) for i in range(args.rules)]
    print(f"{len(users):,} users; each run builds its own index")
    ruleset = timed("all rules", rules, users, args.per_segment)
    typical = [r for i, r in enumerate(rules) if i % 10 != 9]
    timed("exact/in/all chains only (90%)", typical, users, args.per_segment)
    broad = [r for i, r in enumerate(rules) if i % 10 == 9]
    timed("contains + negations only (10%)", broad, users, args.per_segment)

    start = time.perf_counter()
    problems = ruleset.check(users, {"department": "menu", "region": "text", "jobrole": "text"})
    print(f"check: {time.perf_counter() - start:.3f} s ({len(problems)} problems)")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak_mb:,.0f} MB (users included)")


if __name__ == "__main__":
    main()
