"""Count the HTTP calls (and time) the reader needs for a large sandbox site.

Site: 10,000 users with two custom profile fields, 500 segments (all in scope, about
three members per user in total), 20 courses in scope, each with 500 enrolled users
and 5 groups of 60 members. The read runs twice: with rules in scope (every user is
read, in pages) and without (only the users in play are looked up).

    python benchmarks/read_budget.py [--users N] [--segments N] [--courses N]
"""

from __future__ import annotations

import argparse
import random
import time

from plutoctl.lms.client import SiteClient
from plutoctl.lms.reader import ReadScope, read_site
from plutoctl.sandbox import Sandbox


def seed(sb: Sandbox, users: int, segments: int, courses: int) -> list[str]:
    store = sb.store
    rng = random.Random(4)
    store.add_profile_field("region", "text")
    store.add_profile_field("team", "menu", options=["Sales", "HR", "IT", "Ops"])
    names = [f"user{i:05d}" for i in range(users)]
    for name in names:
        team = rng.choice(["Sales", "HR", "IT", "Ops"])
        store.add_user(
            name, department=team, custom={"region": rng.choice(["emea", "apac"]), "team": team}
        )
    ids = []
    for s in range(segments):
        ids.append(f"seg-{s:03d}")
        store.add_cohort(ids[-1], f"Segment {s}")
        store.add_cohort_members(ids[-1], rng.sample(names, 3 * users // segments))
    for c in range(courses):
        shortname = f"COURSE{c:02d}"
        store.add_course(shortname)
        enrolled = rng.sample(names, min(500, users))
        for name in enrolled:
            store.enrol(name, shortname)
        for g in range(5):
            store.add_group(shortname, f"Group {g}", idnumber=f"g{g}")
            store.add_group_members(shortname, f"g{g}", enrolled[g * 60 : (g + 1) * 60])
    return ids


def measure(sb: Sandbox, scope: ReadScope, label: str) -> None:
    with SiteClient(site="bench", url=sb.url, token=sb.token, parallelism=3) as client:
        started = time.perf_counter()
        existing = read_site(client, scope)
        elapsed = time.perf_counter() - started
        calls = dict(sorted(client.calls.items()))
    print(
        f"\n{label}: {sum(calls.values())} HTTP calls in {elapsed:.2f} s "
        f"({len(existing.users)} users, {len(existing.segments)} segments, "
        f"{len(existing.courses)} courses, complete={existing.is_complete})"
    )
    for function, count in calls.items():
        print(f"  {count:5d}  {function}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--segments", type=int, default=500)
    parser.add_argument("--courses", type=int, default=20)
    parser.add_argument("--page-size", type=int, default=5000)
    args = parser.parse_args()
    with Sandbox.start(max_input_vars=1000) as sb:
        started = time.perf_counter()
        segment_ids = seed(sb, args.users, args.segments, args.courses)
        print(
            f"seeded {args.users} users, {args.segments} segments, {args.courses} courses "
            f"in {time.perf_counter() - started:.1f} s (max_input_vars=1000, parallelism=3)"
        )
        courses = frozenset(f"COURSE{c:02d}" for c in range(args.courses))
        base = {"segments": frozenset(segment_ids), "courses": courses, "page_size": args.page_size}
        measure(
            sb,
            ReadScope(needs_all_users=True, standard_fields=frozenset({"department"}), **base),
            "with rules (every user read)",
        )
        measure(sb, ReadScope(**base), "without rules (users in play only)")


if __name__ == "__main__":
    main()
