"""Plan a large site from cold: wall time, plutoctl's CPU time, peak memory, HTTP calls.

Site (defaults): 100,000 users with a ``department`` menu field (400 options), a
``region`` text field and a ``manager`` checkbox; 200 courses with 2,000 enrolled
users each. Config: 2,000 segments, half rule-based (every rule anchored on
``department``, with ``in``, ``all`` chains, ``contains``, a checkbox and the
standard ``user.lastname``), half explicit (members lists in the YAML, and
``members_csv`` files in Pluto's bulk format), about 500,000 memberships; in every
course 10 groups bound to segments and one enrol entry (every fourth with
``unenrol: true``).

Phases, each plan a fresh ``plutoctl plan --format json`` process:

1. plan the unapplied site (everything to create), checked against the desired
   membership computed here independently of plutoctl (in ``unenrol: true`` courses
   the entry owns every student enrolment, so the seeded students outside its
   segment are unenrolled and left out of the course's groups);
2. bring the site to the desired state (written straight into the sandbox, which
   takes seconds; ``--apply`` runs ``plutoctl apply --auto-approve`` instead, about
   5 minutes at full scale), then plan again: must be "No changes";
3. change the profile fields of 1% of the users in the server and plan again: the
   plan must hold exactly the segment, enrolment and group changes that implies.

The sandbox runs in a child process, so the CPU time and peak memory printed for a
plan are plutoctl's own; HTTP calls come from the sandbox's request log.

    python benchmarks/plan_scale.py [--users N] [--segments N] [--courses N]
        [--enrolled N] [--listed N] [--changed 0.01] [--max-input-vars N] [--apply]
        [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from timed import children_cpu, compile_plutoctl

from plutoctl.lms.courses import ENROLMENT_PAGE
from plutoctl.lms.functions import (
    BEST_STREAMS,
    BULK_TOOL_MS,
    COURSE_GROUPS,
    COURSES_BY_FIELD,
    GET_COHORT_MEMBERS,
    GET_COHORTS,
    GET_GROUP_MEMBERS,
    SITE_INFO,
    call_seconds,
    calls_needed,
    calls_seconds,
    cost_of,
    listing_seconds,
    speedup,
)
from plutoctl.lms.functions import function as ws_function
from plutoctl.plan.changes.kinds import KINDS

OTHER_TREE = "PLAN_SCALE_PLUTOCTL"
"""Set for the plan process by ``--plutoctl-path``."""

DEPARTMENTS = tuple(f"Dept {i:03d}" for i in range(400))
REGIONS = ("north", "south", "east", "west", "emea", "apac", "")
LASTNAMES = ("Smith", "Jones", "Brown", "Taylor", "Wilson", "Evans", "Thomas", "Roberts")
GROUPS_PER_COURSE = 10
STUDENT = "student"
"""The role of every enrol entry, and of every enrolment the sandbox is seeded with."""
TOKEN_VARIABLE = "PLUTO_BENCH_TOKEN"
Profile = dict[str, str]


# --- the server (child process) --------------------------------------------------------


def serve(
    conn: Connection,
    users: int,
    courses: int,
    enrolled: int,
    max_input_vars: int,
    is_modelled: bool = False,
) -> None:
    """Run a seeded sandbox; answer the parent's questions until told to stop.

    ``is_modelled``: answer as slowly as a real Moodle (the sandbox's cost model).
    """
    from plutoctl.sandbox import CostModel, FieldSpec, Sandbox, Store, generate

    store = Store()
    generate(
        store,
        users=users,
        courses=courses,
        fields=[
            FieldSpec("department", "menu", DEPARTMENTS),
            FieldSpec("region", "text"),
            FieldSpec("manager", "checkbox"),
        ],
        enrolments_per_course=enrolled,
    )
    costs = CostModel() if is_modelled else None
    with Sandbox.start(store=store, max_input_vars=max_input_vars, costs=costs) as sb:
        conn.send((sb.url, sb.token))
        while True:
            command, arg = conn.recv()
            if command == "stop":
                return
            conn.send(_answer(sb, command, arg))


def _answer(sb: Any, command: str, arg: Any) -> Any:
    store = sb.store
    match command:
        case "calls":
            counts = Counter(entry.function for entry in sb.log)
            sb.log.clear()
            return counts
        case "modelled":
            model = sb._server.costs
            seconds = dict(model.seconds_by_function) if model is not None else {}
            if model is not None:
                model.seconds_by_function.clear()
            return seconds
        case "profiles":
            return _profiles(store)
        case "sizes":
            return _sizes(store)
        case "enrolments":
            return {course: store.enrolments(course) for course in arg}
        case "change":
            for username, custom in arg.items():
                store.set_profile(username, **custom)
            return len(arg)
        case "load":
            return _load_state(store, *arg)
    raise ValueError(command)


def _load_state(store: Any, segments: dict[str, Any], courses: dict[str, Any]) -> int:
    """Write the desired state straight into the store, as if it had been applied."""
    from plutoctl.sandbox.rows import enrol_user

    for sid, (name, members) in segments.items():
        store.add_cohort(sid, name)
        store.add_cohort_members(sid, members)
    with store.transaction() as db:
        ids = dict(db.execute("SELECT username, id FROM user"))
        course_ids = dict(db.execute("SELECT shortname, id FROM course"))
        for course, (enrol, unenrol, _) in courses.items():
            for username in enrol:
                enrol_user(db, course_ids[course], ids[username], 5)  # 5: student
            for username in unenrol:
                _unenrol_user(db, course_ids[course], ids[username])
    for course, (_, _, groups) in courses.items():
        for gid, (name, members) in groups.items():
            store.add_group(course, name, gid)
            store.add_group_members(course, gid, members)
    return len(segments)


def _unenrol_user(db: Any, course_id: int, user_id: int) -> None:
    """Unenrol as ``enrol_manual_unenrol_users`` does (the course's groups lose the user too)."""
    db.execute(
        "DELETE FROM user_enrolments WHERE userid = ? "
        "AND enrolid IN (SELECT id FROM enrol WHERE courseid = ?)",
        (user_id, course_id),
    )
    db.execute(
        "DELETE FROM role_assignments WHERE courseid = ? AND userid = ?", (course_id, user_id)
    )
    db.execute(
        "DELETE FROM groups_members WHERE userid = ? "
        "AND groupid IN (SELECT id FROM groups WHERE courseid = ?)",
        (user_id, course_id),
    )


def _sizes(store: Any) -> dict[str, Any]:
    """Return what a read of the whole site carries: the counts ``plan_floor`` prices."""
    with store.transaction() as db:

        def count(table: str) -> int:
            return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

        enrolled = db.execute(
            "SELECT COUNT(DISTINCT ue.userid) FROM course c "
            "LEFT JOIN enrol e ON e.courseid = c.id "
            "LEFT JOIN user_enrolments ue ON ue.enrolid = e.id "
            "WHERE c.id != 1 GROUP BY c.id"
        )
        return {
            "users": int(db.execute("SELECT COUNT(*) FROM user WHERE deleted = 0").fetchone()[0]),
            "cohorts": count("cohort"),
            "cohort_members": count("cohort_members"),
            "groups": count("groups"),
            "group_members": count("groups_members"),
            "enrolled": [n for (n,) in enrolled],
        }


def _profiles(store: Any) -> dict[str, Profile]:
    """Return username → {department, region, manager, lastname} for every user."""
    profiles: dict[str, Profile] = {}
    with store.transaction() as db:
        for username, lastname in db.execute("SELECT username, lastname FROM user"):
            profiles[username] = {"lastname": lastname or ""}
        rows = db.execute(
            "SELECT u.username, f.shortname, d.data FROM user_info_data d "
            "JOIN user u ON u.id = d.userid JOIN user_info_field f ON f.id = d.fieldid"
        )
        for username, shortname, value in rows:
            profiles[username][shortname] = value
    return profiles


class Server:
    """The sandbox child process and the pipe to it."""

    def __init__(self, args: argparse.Namespace) -> None:
        context = multiprocessing.get_context("fork")
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=serve,
            args=(
                child,
                args.users,
                args.courses,
                args.enrolled,
                args.max_input_vars,
                args.cost_model,
            ),
            daemon=True,
        )
        self.process.start()
        self.url, self.token = self.conn.recv()

    def ask(self, command: str, arg: Any = None) -> Any:
        self.conn.send((command, arg))
        return self.conn.recv()

    def stop(self) -> None:
        self.conn.send(("stop", None))
        self.process.join(timeout=30)


# --- the config and the independent evaluation of its rules -----------------------------


@dataclass(frozen=True)
class Condition:
    """One ``{field, match, value}`` test, evaluated here without plutoctl."""

    field: str
    match: str
    value: Any = None

    def holds(self, profile: Profile) -> bool:
        have = profile.get(self.field.removeprefix("user."), "").strip().casefold()
        match self.match:
            case "exact":
                return have == str(self.value).strip().casefold()
            case "in":
                return have in {str(v).strip().casefold() for v in self.value}
            case "contains":
                return str(self.value).strip().casefold() in have
            case "notempty":
                return have != ""
        raise ValueError(self.match)

    def as_yaml(self) -> dict[str, Any]:
        rule: dict[str, Any] = {"field": self.field, "match": self.match}
        if self.value is not None:
            rule["value"] = self.value
        return rule


@dataclass(frozen=True)
class RuleSegment:
    """A rule-based segment: any of its rules (each an AND of conditions) selects a user."""

    sid: str
    rules: tuple[tuple[Condition, ...], ...]
    departments: frozenset[str]  # every rule requires one of these
    exclude: tuple[str, ...] = ()

    def matches(self, profile: Profile) -> bool:
        return any(all(c.holds(profile) for c in rule) for rule in self.rules)


@dataclass
class Scenario:
    """What the config declares, kept in plain form for the independent check."""

    rule_segments: dict[str, RuleSegment] = field(default_factory=dict)
    explicit: dict[str, frozenset[str]] = field(default_factory=dict)
    groups: dict[str, dict[str, str]] = field(default_factory=dict)  # course → gid → segment
    enrol: dict[str, tuple[str, bool]] = field(default_factory=dict)  # course → (sid, unenrol)


def make_rule_segment(number: int, rng: random.Random) -> RuleSegment:
    sid = f"rule-{number:04d}"
    depts = rng.sample(DEPARTMENTS, 4)
    kind = number % 10
    if kind < 4:
        rules: tuple[tuple[Condition, ...], ...] = ((Condition("department", "exact", depts[0]),),)
        used = depts[:1]
    elif kind < 6:
        rules = ((Condition("department", "in", depts[:2]),),)
        used = depts[:2]
    elif kind < 8:
        region = Condition("region", "exact", "north") if kind == 6 else None
        second = region or Condition("region", "notempty")
        rules = (
            (Condition("department", "exact", depts[0]), second),
            (Condition("department", "exact", depts[1]), Condition("manager", "exact", "1")),
        )
        used = depts[:2]
    elif kind == 8:
        rules = (
            (
                Condition("department", "in", depts[:3]),
                Condition("region", "contains", "TH"),
                Condition("manager", "exact", "1"),
            ),
        )
        used = depts[:3]
    else:
        rules = (
            (
                Condition("department", "in", depts),
                Condition("user.lastname", "exact", " smith "),
            ),
        )
        used = depts
    return RuleSegment(sid, rules, frozenset(used))


def build_scenario(args: argparse.Namespace, usernames: list[str], rng: random.Random) -> Scenario:
    scenario = Scenario()
    half = args.segments // 2
    for number in range(half):
        seg = make_rule_segment(number, rng)
        if number % 10 == 3:
            seg = RuleSegment(seg.sid, seg.rules, seg.departments, tuple(rng.sample(usernames, 2)))
        scenario.rule_segments[seg.sid] = seg
    for number in range(args.segments - half):
        sid = f"list-{number:04d}"
        scenario.explicit[sid] = frozenset(rng.sample(usernames, min(args.listed, len(usernames))))
    rule_ids, all_ids = list(scenario.rule_segments), [*scenario.rule_segments, *scenario.explicit]
    for c in range(1, args.courses + 1):
        course = f"COURSE{c:04d}"
        enrolled_segment = rule_ids[(c * 5) % len(rule_ids)]
        scenario.enrol[course] = (enrolled_segment, c % 4 == 0)
        bound = [enrolled_segment, *rng.sample(all_ids, GROUPS_PER_COURSE - 1)]
        scenario.groups[course] = {f"grp-{i}": sid for i, sid in enumerate(bound)}
    return scenario


def write_config(scenario: Scenario, directory: Path, url: str, max_input_vars: int) -> Path:
    """Write the YAML config and its CSV files; return the config's path."""
    lines = [
        "version: 1",
        "sites:",
        "  bench:",
        f"    url: {url}",
        f"    token: ${{{TOKEN_VARIABLE}}}",
        f"    max_input_vars: {max_input_vars}",
        "policy:",
        "  max_removals: 100%",  # the benchmark measures planning, not the safety policy
        "segments:",
    ]
    for seg in scenario.rule_segments.values():
        rendered = [
            rule[0].as_yaml() if len(rule) == 1 else {"all": [c.as_yaml() for c in rule]}
            for rule in seg.rules
        ]
        lines += [f"  {seg.sid}:", f"    name: Rule segment {seg.sid}"]
        lines.append(f"    rules: {json.dumps(rendered)}")
        if seg.exclude:
            lines.append(f"    exclude: {json.dumps(list(seg.exclude))}")
    csv_rows: dict[int, list[str]] = {}
    for i, (sid, members) in enumerate(scenario.explicit.items()):
        lines += [f"  {sid}:", f"    name: Listed segment {sid}"]
        if i % 2 == 0:
            lines.append(f"    members: [{', '.join(sorted(members))}]")
        else:
            file_number = i % 10
            lines.append(f"    members_csv: members-{file_number}.csv")
            csv_rows.setdefault(file_number, []).extend(f"{u},{sid}" for u in sorted(members))
    for number, rows in csv_rows.items():
        (directory / f"members-{number}.csv").write_text("username,cohort1\n" + "\n".join(rows))
    lines.append("courses:")
    for course, groups in scenario.groups.items():
        lines += [f"  {course}:", "    groups:"]
        for gid, sid in groups.items():
            lines.append(f"      {gid}: {{name: Group {gid} ({sid}), segment: {sid}}}")
        sid, unenrol = scenario.enrol[course]
        lines.append(
            f"    enrol: [{{segment: {sid}, role: student, unenrol: {str(unenrol).lower()}}}]"
        )
    path = directory / "segments.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def desired_members(scenario: Scenario, profiles: dict[str, Profile]) -> dict[str, set[str]]:
    """Return every segment's desired members, evaluated here from the profiles."""
    by_department: dict[str, list[str]] = {}
    for username, profile in profiles.items():
        by_department.setdefault(profile.get("department", ""), []).append(username)
    members: dict[str, set[str]] = {sid: set(m) for sid, m in scenario.explicit.items()}
    for sid, seg in scenario.rule_segments.items():
        candidates = (u for d in seg.departments for u in by_department.get(d, ()))
        found = {u for u in candidates if seg.matches(profiles[u])}
        members[sid] = found - set(seg.exclude)
    return members


def rule_members_of(scenario: Scenario, profile: Profile, username: str) -> set[str]:
    """Return the rule segments ``username`` (with ``profile``) is a desired member of."""
    return {
        sid
        for sid, seg in scenario.rule_segments.items()
        if profile.get("department") in seg.departments
        and seg.matches(profile)
        and username not in seg.exclude
    }


@dataclass(frozen=True)
class CourseEnrolment:
    """What a course's enrol entry changes, and who is enrolled once it has."""

    enrol: frozenset[str]
    unenrol: frozenset[str]
    enrolled: frozenset[str]


def enrolment_after(
    scenario: Scenario, course: str, members: dict[str, set[str]], roles: dict[str, set[str]]
) -> CourseEnrolment:
    """Return the enrolments and unenrolments that bring ``course`` to the config.

    ``roles`` is username → roles held in the course now. The entry enrols its segment's
    members not yet enrolled as students. With ``unenrol: true`` it owns every student
    enrolment of the course (docs/config.md, "What `unenrol: true` owns"): whoever holds
    the role and no other, and is not a member, is unenrolled, however they came to be
    enrolled (here: the site's seeded students), decided from the state alone.
    """
    sid, owns = scenario.enrol[course]
    wanted = members[sid]
    enrol = frozenset(u for u in wanted if STUDENT not in roles.get(u, set()))
    unenrol = frozenset(
        u for u, held in roles.items() if owns and u not in wanted and held == {STUDENT}
    )
    return CourseEnrolment(enrol, unenrol, frozenset((set(roles) | enrol) - unenrol))


def applied_state(
    scenario: Scenario, members: dict[str, set[str]], enrolments: dict[str, dict[str, set[str]]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the state a successful apply leaves (segments; courses' enrolments and groups)."""
    segments = {
        sid: (f"{'Rule' if sid in scenario.rule_segments else 'Listed'} segment {sid}", wanted)
        for sid, wanted in members.items()
    }
    courses = {}
    for course, groups in scenario.groups.items():
        after = enrolment_after(scenario, course, members, enrolments[course])
        enrolled = after.enrolled
        courses[course] = (
            sorted(after.enrol),
            sorted(after.unenrol),
            {
                gid: (f"Group {gid} ({bound})", sorted(members[bound] & enrolled))
                for gid, bound in groups.items()
            },
        )
    return segments, courses


# --- expected changes -----------------------------------------------------------------

ChangeKey = tuple[str, str, str]  # (action, course or "", segment or group idnumber or role)


def expected_initial(
    scenario: Scenario, members: dict[str, set[str]], enrolments: dict[str, dict[str, set[str]]]
) -> dict[ChangeKey, set[str]]:
    """Return the membership changes of the first plan (nothing exists yet)."""
    expected: dict[ChangeKey, set[str]] = {}
    for sid, wanted in members.items():
        if wanted:
            expected[("add_segment_members", "", sid)] = set(wanted)
    for course, groups in scenario.groups.items():
        after = enrolment_after(scenario, course, members, enrolments[course])
        if after.enrol:
            expected[("enrol", course, STUDENT)] = set(after.enrol)
        if after.unenrol:
            expected[("unenrol", course, "")] = set(after.unenrol)
        for gid, bound in groups.items():
            target = members[bound] & after.enrolled
            if target:
                expected[("add_group_members", course, gid)] = target
    return expected


def expected_after_change(
    scenario: Scenario,
    before: dict[str, set[str]],
    after: dict[str, set[str]],
    enrolments: dict[str, dict[str, set[str]]],
) -> dict[ChangeKey, set[str]]:
    """Return the changes that turn the applied site into the one the new profiles imply."""
    expected: dict[ChangeKey, set[str]] = {}

    def put(key: ChangeKey, names: Iterable[str]) -> None:
        names = set(names)
        if names:
            expected[key] = names

    for sid in before:
        put(("add_segment_members", "", sid), after[sid] - before[sid])
        put(("remove_segment_members", "", sid), before[sid] - after[sid])
    for course, groups in scenario.groups.items():
        roles = enrolments[course]
        change = enrolment_after(scenario, course, after, roles)
        put(("enrol", course, STUDENT), change.enrol)
        put(("unenrol", course, ""), change.unenrol)
        enrolled_before = set(roles)
        for gid, bound in groups.items():
            target = after[bound] & change.enrolled
            existing = before[bound] & enrolled_before
            put(("add_group_members", course, gid), target - existing)
            put(("remove_group_members", course, gid), existing - target)
    return expected


def planned(plan: dict[str, Any]) -> tuple[dict[ChangeKey, set[str]], Counter[str]]:
    """Return the membership changes of a JSON plan, and a count of every action."""
    found: dict[ChangeKey, set[str]] = {}
    actions: Counter[str] = Counter()
    for site in plan["sites"]:
        assert not site["errors"], site["errors"]
        assert not site["refused"], site["refused"][:3]
        for change in site["changes"]:
            action = change["action"]
            actions[action] += 1
            if "usernames" not in change:
                continue
            third = change.get("role", "") if action == "enrol" else change.get("idnumber", "")
            key = (action, change.get("course", ""), third)
            found.setdefault(key, set()).update(change["usernames"])
    return found, actions


def compare(
    label: str, found: dict[ChangeKey, set[str]], expected: dict[ChangeKey, set[str]]
) -> bool:
    wrong = sorted(k for k in found.keys() | expected.keys() if found.get(k) != expected.get(k))
    items = sum(len(v) for v in expected.values())
    if not wrong:
        print(f"  check: {label}: all {len(expected):,} membership changes ({items:,} users) exact")
        return True
    print(f"  CHECK FAILED: {label}: {len(wrong)} of {len(expected)} changes differ, e.g.:")
    for key in wrong[:5]:
        have, want = found.get(key, set()), expected.get(key, set())
        print(
            f"    {key}: planned-only {sorted(have - want)[:5]}, missing {sorted(want - have)[:5]}"
        )
    return False


# --- measuring one plan -----------------------------------------------------------------


def measure_plan(config: Path, out: Path) -> None:
    """(Run in a fresh process.) Run ``plutoctl plan``; print its figures as JSON."""
    started = time.perf_counter()
    other = os.environ.get(OTHER_TREE)
    if other:
        # Plan with another checkout's plutoctl: forget this tree's modules and the
        # editable install's import hook, which comes before sys.path.
        for name in [m for m in sys.modules if m == "plutoctl" or m.startswith("plutoctl.")]:
            del sys.modules[name]
        sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f)]
        sys.path.insert(0, other)
    from plutoctl.cli import main as plutoctl_main

    # As the plutoctl program does (plutoctl.cli.run): the process ends after the plan.
    with contextlib.suppress(ImportError):  # an older tree (--plutoctl-path) may not
        from plutoctl.cli.program import end_after_main

        end_after_main()

    if other:
        assert plutoctl_main.__module__ == "plutoctl.cli"
        assert sys.modules["plutoctl.cli"].__file__.startswith(other)  # type: ignore[union-attr]

    with out.open("w") as stream:
        saved, sys.stdout = sys.stdout, stream
        try:
            code = plutoctl_main(["plan", "-c", str(config), "--format", "json"])
        finally:
            sys.stdout = saved
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures = {
        "exit": code,
        "wall": time.perf_counter() - started,
        "cpu": usage.ru_utime + usage.ru_stime,
        "maxrss_mb": usage.ru_maxrss / 1024,
    }
    print(json.dumps(figures), flush=True)
    # Then end as the program does (plutoctl.cli.run): a profiler of this process would
    # otherwise sample the interpreter freeing the plan, which plutoctl never does.
    os._exit(0)


def run_plan(
    label: str, server: Server, config: Path, env: dict[str, str], max_input_vars: int
) -> dict[str, Any]:
    """Plan in a fresh process and print the figures; return the JSON plan."""
    server.ask("calls")  # forget earlier requests
    server.ask("modelled")
    out = config.parent / "plan.json"
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, __file__, "--measure-plan", str(config), str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if result.returncode != 0 or not result.stdout.strip():
        sys.exit(f"{label}: the plan process failed:\n{result.stderr[-3000:]}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    calls: Counter[str] = server.ask("calls")
    modelled: dict[str, float] = server.ask("modelled")
    plan = json.loads(out.read_text())
    summary = plan["summary"]
    print(f"\n{label}")
    print(
        f"  plutoctl plan: {wall:.2f} s wall (process), {figures['cpu']:.2f} s plutoctl CPU, "
        f"peak memory {figures['maxrss_mb']:.0f} MB, exit {figures['exit']}"
    )
    print(f"  plan summary: {json.dumps(summary)}")
    print(f"  HTTP calls: {sum(calls.values())}")
    for function, count in sorted(calls.items()):
        extra = f"  {modelled[function]:8.2f} s modelled (1 stream)" if modelled else ""
        print(f"    {count:6,}  {function:40}{extra}")
    if modelled:
        made = sum(modelled.values()) / speedup(BEST_STREAMS)
        print(
            f"  modelled server time of these calls at {BEST_STREAMS} in flight: {made:.2f} s; "
            f"wall / modelled = {wall / made:.2f}"
        )
        floor = plan_floor(server.ask("sizes"), max_input_vars)
        print(
            f"  modelled floor (the cheapest reads that answer the plan): {floor:.2f} s; "
            f"wall / floor = {wall / floor:.2f}"
        )
    return plan


LISTING_FIELDS = ("id", "username", "customfields", "lastname")
"""What the rules of this config read of every user (custom fields and ``user.lastname``)."""
USER_PAGE = 1000
ENROLMENT_FIELDS = ("id", "username", "roles")


def plan_floor(sizes: dict[str, Any], max_input_vars: int) -> float:
    """Return the modelled server time of the cheapest reads that answer the plan.

    At the best concurrency, with every call's fixed cost paid once: the site info;
    every segment, in one call; every user with ``LISTING_FIELDS``, in pages of
    ``USER_PAGE``; the members of every segment and of every group, in the fewest
    calls ``max_input_vars`` allows; for each course its record and its groups (one
    call each: Moodle has no call for several courses) and its enrolments with roles,
    in pages of ``ENROLMENT_PAGE``. Independent of the calls plutoctl made.
    """
    courses = sizes["enrolled"]
    seconds = call_seconds(SITE_INFO, 0) + call_seconds(GET_COHORTS, sizes["cohorts"])
    seconds += listing_seconds(sizes["users"], LISTING_FIELDS, page=USER_PAGE, streams=1)
    seconds += _bulk(GET_COHORT_MEMBERS, sizes["cohorts"], sizes["cohort_members"], max_input_vars)
    seconds += len(courses) * (call_seconds(COURSES_BY_FIELD, 0) + call_seconds(COURSE_GROUPS, 0))
    seconds += _bulk(GET_GROUP_MEMBERS, sizes["groups"], sizes["group_members"], max_input_vars)
    seconds += sum(
        listing_seconds(n, ENROLMENT_FIELDS, page=ENROLMENT_PAGE, streams=1) for n in courses
    )
    return seconds / speedup(BEST_STREAMS)


def _bulk(name: str, ids: int, items: int, max_input_vars: int) -> float:
    """Return one stream's seconds to read ``items`` under ``ids`` ids, fewest calls."""
    cost = cost_of(name)
    return (calls_needed(name, ids, max_input_vars) * cost.fixed_ms + items * cost.item_ms) / 1000


# --- main -------------------------------------------------------------------------------


def arguments() -> argparse.ArgumentParser:
    """The script's options, with the scenario's defaults (``plan_replay.py`` reads them)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--segments", type=int, default=2_000)
    parser.add_argument("--listed", type=int, default=270, help="members per explicit segment")
    parser.add_argument("--courses", type=int, default=200)
    parser.add_argument("--enrolled", type=int, default=2_000, help="users enrolled per course")
    parser.add_argument("--changed", type=float, default=0.01, help="share of users changed")
    parser.add_argument("--max-input-vars", type=int, default=5000)
    parser.add_argument("--keep", type=Path, help="write the config here and keep it")
    parser.add_argument(
        "--apply", action="store_true", help="reach the desired state with plutoctl apply (slow)"
    )
    parser.add_argument(
        "--cost-model", action="store_true", help="the sandbox answers as slowly as a real Moodle"
    )
    parser.add_argument(
        "--apply-saved",
        action="store_true",
        help="apply the first plan from its file and time it (against the modelled ceiling "
        "with --cost-model)",
    )
    parser.add_argument(
        "--plutoctl-path", type=Path, help="plan with another checkout's plutoctl package"
    )
    parser.add_argument("--measure-plan", nargs=2, type=Path, help=argparse.SUPPRESS)
    return parser


def main() -> None:
    args = arguments().parse_args()
    if args.measure_plan:
        measure_plan(*args.measure_plan)
        return

    started = time.perf_counter()
    server = Server(args)
    print(
        f"sandbox (child process): {args.users:,} users, {args.courses} courses x "
        f"{args.enrolled:,} enrolled, max_input_vars={args.max_input_vars}; seeded in "
        f"{time.perf_counter() - started:.1f} s"
    )
    directory = args.keep or Path(tempfile.mkdtemp(prefix="plan-scale-"))
    directory.mkdir(parents=True, exist_ok=True)
    try:
        ok = run_phases(args, server, directory)
    finally:
        server.stop()
        if args.keep is None:
            shutil.rmtree(directory, ignore_errors=True)
    sys.exit(0 if ok else 1)


def run_phases(args: argparse.Namespace, server: Server, directory: Path) -> bool:
    rng = random.Random(5)
    profiles: dict[str, Profile] = {
        u: p for u, p in server.ask("profiles").items() if u not in ("guest", "admin")
    }
    usernames = sorted(profiles)
    scenario = build_scenario(args, usernames, rng)
    config = write_config(scenario, directory, server.url, args.max_input_vars)
    members = desired_members(scenario, profiles)
    print(
        f"config: {len(scenario.rule_segments):,} rule segments, {len(scenario.explicit):,} "
        f"explicit, {sum(map(len, members.values())):,} memberships; {args.courses} courses x "
        f"{GROUPS_PER_COURSE} bound groups + 1 enrol entry"
    )
    env = {**os.environ, TOKEN_VARIABLE: server.token}
    if args.plutoctl_path:
        env[OTHER_TREE] = str(args.plutoctl_path.resolve())
    compile_plutoctl(args.plutoctl_path)
    enrolments = server.ask("enrolments", list(scenario.groups))

    plan = run_plan(
        "1. first plan, unapplied site (everything to create)",
        server,
        config,
        env,
        args.max_input_vars,
    )
    ok = compare("first plan", planned(plan)[0], expected_initial(scenario, members, enrolments))

    if args.apply_saved:
        if not apply_saved_plan(args, server, config, env, plan):
            return False
    elif not apply_first_plan(args, server, config, env, (scenario, members, enrolments)):
        return False

    plan = run_plan(
        "2. cold plan of the applied site (must be empty)", server, config, env, args.max_input_vars
    )
    found, actions = planned(plan)
    print(f"  check: {'empty' if not actions else f'NOT EMPTY: {dict(actions)}'}")
    ok = ok and not actions

    enrolments = server.ask("enrolments", list(scenario.groups))
    changed = rng.sample(usernames, int(len(usernames) * args.changed))
    updates = {u: new_profile(rng) for u in changed}
    server.ask("change", updates)
    after = {sid: set(m) for sid, m in members.items()}
    for username in changed:
        old = rule_members_of(scenario, profiles[username], username)
        new = rule_members_of(scenario, {**profiles[username], **updates[username]}, username)
        for sid in old - new:
            after[sid].discard(username)
        for sid in new - old:
            after[sid].add(username)
    expected = expected_after_change(scenario, members, after, enrolments)
    label = f"3. plan after changing the profiles of {len(changed):,} users ({args.changed:.0%})"
    plan = run_plan(label, server, config, env, args.max_input_vars)
    found, actions = planned(plan)
    print(f"  changes by action: {dict(sorted(actions.items()))}")
    return compare("1% change", found, expected) and ok


def apply_first_plan(
    args: argparse.Namespace,
    server: Server,
    config: Path,
    env: dict[str, str],
    state: tuple[Scenario, dict[str, set[str]], dict[str, dict[str, set[str]]]],
) -> bool:
    """Bring the site to the desired state: with ``plutoctl apply``, or (faster) directly."""
    started = time.perf_counter()
    if not args.apply:
        server.ask("load", applied_state(*state))
        print(
            f"\nloaded the desired state into the sandbox in {time.perf_counter() - started:.1f} s"
            " (as apply would leave it; --apply runs plutoctl apply instead)"
        )
        return True
    result = subprocess.run(
        [sys.executable, "-m", "plutoctl", "apply", "-c", str(config), "--auto-approve"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    calls = server.ask("calls")
    print(
        f"\napply: exit {result.returncode} in {time.perf_counter() - started:.1f} s, "
        f"{sum(calls.values()):,} HTTP calls (plan included)"
    )
    if result.returncode != 0:
        print(result.stdout[-2000:], result.stderr[-2000:])
    return result.returncode == 0


def apply_saved_plan(
    args: argparse.Namespace, server: Server, config: Path, env: dict[str, str], plan: Any
) -> bool:
    """Apply the first plan from its file (``plutoctl apply PLAN``) and time it.

    With the cost model, the wall time is set against the modelled ceiling: the plan's
    writes in the fewest calls at the best concurrency, plus the reads apply made (its
    freshness check and verification) at the best concurrency.
    """
    server.ask("calls")  # forget earlier requests
    server.ask("modelled")
    before = server.ask("sizes")
    started = time.perf_counter()
    cpu = children_cpu()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "plutoctl",
            "apply",
            str(config.parent / "plan.json"),
            "-c",
            str(config),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall, cpu = time.perf_counter() - started, children_cpu() - cpu
    calls: Counter[str] = server.ask("calls")
    modelled: dict[str, float] = server.ask("modelled")
    print(
        f"\napply of the first plan from its file: exit {result.returncode}, {wall:.1f} s wall, "
        f"{cpu:.1f} s plutoctl CPU, {sum(calls.values()):,} HTTP calls"
    )
    for function_name in sorted(calls):
        seconds = modelled.get(function_name)
        extra = f"  {seconds:8.2f} s modelled (1 stream)" if seconds is not None else ""
        print(f"  {calls[function_name]:6,}  {function_name:40}{extra}")
    if result.returncode != 0:
        print(result.stdout[-2000:], result.stderr[-2000:])
        return False
    if modelled:
        writes, reads = apply_ceiling(plan, modelled, args.max_input_vars)
        adds = plan["summary"]["members_add"]
        print(
            f"  modelled ceiling: writes {writes:.1f} s + reads {reads:.1f} s = "
            f"{writes + reads:.1f} s; wall / ceiling = {wall / (writes + reads):.2f}\n"
            f"  Moodle's bulk upload tool for the {adds:,} segment member adds alone: "
            f"{adds * BULK_TOOL_MS / 1000:.0f} s"
        )
        fresh = plan_floor(before, args.max_input_vars)
        verify = verification_floor(server.ask("sizes"), args.max_input_vars)
        ceiling = writes + fresh + verify
        print(
            f"  independent ceiling: writes {writes:.1f} s + the cheapest freshness check "
            f"{fresh:.1f} s + the cheapest verification {verify:.1f} s = {ceiling:.1f} s; "
            f"wall / ceiling = {wall / ceiling:.2f}"
        )
    return True


def verification_floor(sizes: dict[str, Any], max_input_vars: int) -> float:
    """Return the modelled server time of the cheapest re-read of what the first plan
    wrote: it touches every segment, group and course, so the members of every segment
    and of every group, in the fewest calls, and each course's enrolments with roles,
    at the best concurrency. The users' ids and the groups' and courses' are known by
    then (the freshness check read them): no listing, no course or group look-up.
    """
    seconds = _bulk(GET_COHORT_MEMBERS, sizes["cohorts"], sizes["cohort_members"], max_input_vars)
    seconds += _bulk(GET_GROUP_MEMBERS, sizes["groups"], sizes["group_members"], max_input_vars)
    seconds += sum(
        listing_seconds(n, ENROLMENT_FIELDS, page=ENROLMENT_PAGE, streams=1)
        for n in sizes["enrolled"]
    )
    return seconds / speedup(BEST_STREAMS)


def apply_ceiling(
    plan: Any, modelled: dict[str, float], max_input_vars: int
) -> tuple[float, float]:
    """Return the modelled seconds of the plan's writes and of the reads apply made.

    Writes: each function's items in the fewest calls ``max_input_vars`` allows, at the
    best concurrency. Reads: what the apply's reads cost the server, at the best
    concurrency.
    """
    kinds = {kind.action: kind for kind in KINDS}
    items: Counter[str] = Counter()
    for site in plan["sites"]:
        for change in site["changes"]:
            kind = kinds[change["action"]]
            items[kind.function] += len(change["usernames"]) if kind.lists_users else 1
    writes = sum(
        calls_seconds(name, calls_needed(name, count, max_input_vars), count)
        for name, count in items.items()
    )
    reads = sum(s for name, s in modelled.items() if not ws_function(name).is_write)
    return writes, reads / speedup(BEST_STREAMS)


def new_profile(rng: random.Random) -> Profile:
    """Return new random values for the custom fields a rule can test."""
    return {
        "department": rng.choice(DEPARTMENTS),
        "region": rng.choice(REGIONS),
        "manager": rng.choice(("0", "1")),
    }


if __name__ == "__main__":
    main()
