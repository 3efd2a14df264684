"""Apply a large plan to a sandbox site: HTTP calls against the minimum, time, CPU share.

Site: 20,000 users and 20 courses. Plan: create 2,000 segments with 50 members each
(100,000 member adds); in every course, create 5 groups bound to 5 of the segments
and enrol those segments' members (5,000 enrolments, 5,000 group member adds).

The sandbox runs in a child process, so that the CPU time measured in this process
is plutoctl's own (client, writer, apply engine) and the child's is the server's.

    python benchmarks/apply_scale.py [--users N] [--segments N] [--members N]
        [--courses N] [--max-input-vars N] [--parallelism N]
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import time
from collections import Counter
from multiprocessing.connection import Connection

from plutoctl.apply.execute import apply_site
from plutoctl.apply.verify import verify_site
from plutoctl.config.schema import PolicyConfig
from plutoctl.lms.client import SiteClient
from plutoctl.lms.functions import calls_needed
from plutoctl.lms.reader import ReadScope, read_site
from plutoctl.model import (
    DesiredCourse,
    DesiredEnrolment,
    DesiredGroup,
    DesiredSegment,
    DesiredSite,
    SegmentFields,
)
from plutoctl.plan.build import plan_site
from plutoctl.plan.changes.kinds import (
    AddGroupMembers,
    AddSegmentMembers,
    CreateGroup,
    CreateSegment,
    Enrol,
)
from plutoctl.plan.changes.plans import SitePlan
from plutoctl.plan.safety import Acknowledgements

GROUPS_PER_COURSE = 5
FUNCTIONS = {
    CreateSegment: "core_cohort_create_cohorts",
    AddSegmentMembers: "core_cohort_add_cohort_members",
    CreateGroup: "core_group_create_groups",
    Enrol: "enrol_manual_enrol_users",
    AddGroupMembers: "core_group_add_group_members",
}


def serve(conn: Connection, users: int, courses: int, max_input_vars: int) -> None:
    """Run a seeded sandbox; answer CPU-time questions until told to stop."""
    from plutoctl.sandbox import Sandbox

    with Sandbox.start(max_input_vars=max_input_vars) as sb:
        sb.store.add_users(
            (f"user{i:05d}", "Test", f"User{i}", f"user{i:05d}@example.com", "", "")
            for i in range(users)
        )
        for c in range(courses):
            sb.store.add_course(f"COURSE{c:02d}")
        conn.send((sb.url, sb.token))
        while conn.recv() == "cpu":
            conn.send(time.process_time())


def desired_state(users: int, segments: int, members: int, courses: int) -> DesiredSite:
    rng = random.Random(6)
    names = [f"user{i:05d}" for i in range(users)]
    wanted = {
        f"seg-{s:04d}": DesiredSegment(
            f"seg-{s:04d}", SegmentFields(f"Segment {s}"), frozenset(rng.sample(names, members))
        )
        for s in range(segments)
    }
    ids = list(wanted)
    course_map = {}
    for c in range(courses):
        bound = ids[c * GROUPS_PER_COURSE : (c + 1) * GROUPS_PER_COURSE]
        course_map[f"COURSE{c:02d}"] = DesiredCourse(
            f"COURSE{c:02d}",
            groups={
                f"g-{sid}": DesiredGroup(f"g-{sid}", f"Group {sid}", segment=sid) for sid in bound
            },
            enrolments=tuple(DesiredEnrolment(sid) for sid in bound),
        )
    return DesiredSite("bench", wanted, course_map)


def minimum(site_plan: SitePlan, max_input_vars: int) -> Counter[str]:
    items: Counter[str] = Counter()
    for change in site_plan.changes:
        function = FUNCTIONS[type(change)]
        items[function] += len(getattr(change, "usernames", ())) or 1
    return Counter({f: calls_needed(f, n, max_input_vars) for f, n in items.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--segments", type=int, default=2_000)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--courses", type=int, default=20)
    parser.add_argument("--max-input-vars", type=int, default=1000)
    parser.add_argument("--parallelism", type=int, default=3)
    args = parser.parse_args()

    parent, child = multiprocessing.get_context("fork").Pipe()
    server = multiprocessing.get_context("fork").Process(
        target=serve, args=(child, args.users, args.courses, args.max_input_vars), daemon=True
    )
    server.start()
    url, token = parent.recv()
    desired = desired_state(args.users, args.segments, args.members, args.courses)
    scope = ReadScope(
        segments=frozenset(desired.segments),
        usernames=frozenset(u for s in desired.segments.values() for u in s.members or ()),
        courses=frozenset(desired.courses),
    )
    with SiteClient(
        site="bench",
        url=url,
        token=token,
        max_input_vars=args.max_input_vars,
        parallelism=args.parallelism,
        timeout=(10.0, 300.0),
    ) as client:
        existing = read_site(client, scope)
        site_plan = plan_site(
            desired,
            existing,
            policy=PolicyConfig(),
            acks=Acknowledgements(),
            max_input_vars=args.max_input_vars,
        )
        expected = minimum(site_plan, args.max_input_vars)
        parent.send("cpu")
        server_cpu = parent.recv()
        cpu, wall = time.process_time(), time.perf_counter()
        report = apply_site(client, site_plan, existing)
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
        parent.send("cpu")
        server_cpu = parent.recv() - server_cpu
        notes = verify_site(client, site_plan, report)
    parent.send("stop")
    server.join(timeout=30)

    items = sum(r.count for r in report.done)
    print(
        f"apply: {items:,} items in {len(site_plan.changes):,} changes; "
        f"max_input_vars={args.max_input_vars}, parallelism={args.parallelism}"
    )
    print(f"{'function':36} {'calls':>7} {'minimum':>8}")
    for function in sorted(expected):
        made = report.calls_by_function.get(function, 0)
        print(f"{function:36} {made:7,} {expected[function]:8,}")
    total_min = sum(expected.values())
    verdict = "equal" if dict(report.calls_by_function) == dict(expected) else "DIFFERENT"
    print(f"{'total':36} {report.calls:7,} {total_min:8,}  ({verdict})")
    print(f"wall time {wall:.2f} s; {items / wall:,.0f} items/s; {report.calls / wall:.1f} calls/s")
    print(
        f"CPU: plutoctl {cpu:.2f} s ({cpu / wall:.0%} of wall), "
        f"sandbox server {server_cpu:.2f} s ({server_cpu / wall:.0%} of wall); "
        f"plutoctl share of CPU {cpu / (cpu + server_cpu):.0%}"
    )
    print(f"success={report.is_success}; verification differences: {len(notes)}")


if __name__ == "__main__":
    main()
