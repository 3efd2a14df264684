"""Print the sandbox's scale figures: seeding, a 5,000-user page, a 2,000-segment read.

Run: ``python benchmarks/sandbox_speed.py [--users N] [--cohorts N] [--members N]``.
Loads users with a ``department`` menu field, courses and cohorts into an in-memory
sandbox, then times single web-service calls over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import time

import requests

from plutoctl.sandbox import FieldSpec, Sandbox, Store, generate

ENDPOINT = "/webservice/rest/server.php"


def timed_call(
    session: requests.Session, sb: Sandbox, data: list[tuple[str, str]]
) -> tuple[float, object]:
    """POST one call and return (seconds, decoded body)."""
    started = time.perf_counter()
    response = session.post(sb.url + ENDPOINT, data=data, timeout=60)
    body = response.json()
    return time.perf_counter() - started, body


def base(sb: Sandbox, function: str) -> list[tuple[str, str]]:
    return [
        ("wstoken", sb.token),
        ("wsfunction", function),
        ("moodlewsrestformat", "json"),
        ("moodlewssettingraw", "1"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--courses", type=int, default=200)
    parser.add_argument("--cohorts", type=int, default=2_000)
    parser.add_argument("--members", type=int, default=100, help="members per cohort")
    args = parser.parse_args()

    store = Store()
    started = time.perf_counter()
    generate(
        store,
        users=args.users,
        courses=args.courses,
        fields=[FieldSpec("department", "menu", ("Sales", "HR", "IT", "Ops"))],
        cohorts=args.cohorts,
        members_per_cohort=args.members,
    )
    seeded = time.perf_counter() - started
    print(
        f"seed: {args.users:,} users, {args.courses} courses, {args.cohorts:,} cohorts "
        f"x {args.members} members: {seeded:.2f} s"
    )

    with (
        Sandbox.start(store=store, max_input_vars=args.cohorts + 100) as sb,
        requests.Session() as s,
    ):
        for start in (0, args.users // 2):
            data = [
                *base(sb, "core_enrol_get_enrolled_users"),
                ("courseid", "1"),
                ("options[0][name]", "userfields"),
                ("options[0][value]", "id,username,customfields"),
                ("options[1][name]", "limitfrom"),
                ("options[1][value]", str(start)),
                ("options[2][name]", "limitnumber"),
                ("options[2][value]", "5000"),
            ]
            seconds, body = timed_call(s, sb, data)
            assert isinstance(body, list) and len(body) == 5000, body
            print(f"core_enrol_get_enrolled_users, 5,000-user page from {start:,}: {seconds:.3f} s")

        ids = [c["id"] for c in store.cohorts().values()]
        data = base(sb, "core_cohort_get_cohort_members")
        data += [(f"cohortids[{i}]", str(cid)) for i, cid in enumerate(ids)]
        seconds, body = timed_call(s, sb, data)
        assert isinstance(body, list) and len(body) == len(ids), body
        total = sum(len(item["userids"]) for item in body)
        print(
            f"core_cohort_get_cohort_members, {len(ids):,} cohorts ({total:,} members): "
            f"{seconds:.3f} s"
        )


if __name__ == "__main__":
    main()
