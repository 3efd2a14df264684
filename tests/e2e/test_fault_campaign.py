"""Fault campaign: apply converges from any interruption, and never removes a kept member.

Each seeded run builds a small sandbox site and a config whose first plan holds all
twelve change kinds (segment create/update/delete, member add/remove, group
create/update/delete, group member add/remove, enrol/unenrol), then applies it:

1. under seeded write faults (HTTP 503 at 10–30 %, connections dropped before the
   write at 3–10 % and after it at 3–10 %); in every third run (seeds divisible by
   3) apply is a ``plutoctl`` process killed with SIGKILL once a seeded number of
   writes (1–12 of the plan's 12) reached the site;
2. under the same faults, if the first apply did not finish;
3. without faults, if the second did not finish.

Invariants, checked from the sandbox's database and never from plutoctl's report:
after at most three applies the database holds exactly the desired state and a
final plan is empty; and at no point was a member removed from a segment, group or
course that the desired state keeps it in (SQLite triggers in the sandbox database
log every removal as it happens, whoever makes it).

The figures (faults injected, SIGKILLs, applies needed, wrongful removals) are
printed per run and in total at the end of the session.

Run it:           pytest tests/e2e/test_fault_campaign.py
One seed:         pytest tests/e2e/test_fault_campaign.py -k seed_17
More seeds:       PLUTOCTL_CAMPAIGN_SEEDS=500 pytest tests/e2e/test_fault_campaign.py
                  (``N`` runs seeds 1..N; ``A-B`` a range; ``3,17,42`` a list)

Runs use ``--parallelism 1``, so the calls reach the site in one order and a seed's
faults land on the same calls every time (retry delays are jittered, which changes
timing only). A SIGKILL lands after the seeded write count, though a write already
in flight may or may not have reached the site. Retries do not wait
(``PLUTOCTL_RETRY_BACKOFF=0``): the campaign is about what faults leave behind, and
the delays between retries change only when the calls are made.
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import session_summary

from plutoctl.cli.options import RETRY_BACKOFF_VARIABLE
from plutoctl.plan.changes.kinds import KINDS, WRITE_FUNCTIONS
from plutoctl.sandbox import Sandbox

TOKEN_VAR = "PLUTO_TOKEN_CAMPAIGN"
SEEDS_VARIABLE = "PLUTOCTL_CAMPAIGN_SEEDS"
DEFAULT_RUNS = 50
MAX_APPLIES = 3
BACKOFF = "0"
WRITES = frozenset(WRITE_FUNCTIONS.values())
COURSE = "C1"

CONFIG = """\
version: 1
sites:
  lab:
    url: {url}
    token: ${{{var}}}
policy:
  unmanaged_segments: delete
  max_removals: 10
segments:
  team:
    name: Team
    members: [u1, u2, u3]
  learners:
    name: Learners
    members: [u1, u2, u3]
  newcomers:
    name: Newcomers
    members: [u5, u6]
courses:
  C1:
    groups:
      g-learn: {{name: Learners group, segment: learners}}
      g-new: {{name: Newcomers group, segment: newcomers}}
      g-rename: {{name: Renamed group}}
    enrol:
      - {{segment: learners, role: student, unenrol: true}}
      - {{segment: newcomers, role: student, unenrol: true}}
"""

ACKS = ("--allow-delete", "stale", "--allow-delete", "C1/g-stale")

# What the site must hold at the end, whatever happened on the way.
DESIRED_SEGMENTS = {
    "team": {"u1", "u2", "u3"},
    "learners": {"u1", "u2", "u3"},
    "newcomers": {"u5", "u6"},
}
DESIRED_ENROLMENTS = {
    "u1": {"student"},
    "u2": {"student"},
    "u3": {"student"},
    "u5": {"student"},
    "u6": {"student"},
    "u7": {"teacher"},  # holds a role no entry grants: kept
}
DESIRED_GROUPS = {
    "g-learn": ("Learners group", {"u1", "u2", "u3"}),
    "g-new": ("Newcomers group", {"u5", "u6"}),
    "g-rename": ("Renamed group", set()),
}

AUDIT = (
    "CREATE TABLE removal_log (container TEXT NOT NULL, username TEXT)",
    """CREATE TRIGGER log_segment_member BEFORE DELETE ON cohort_members BEGIN
        INSERT INTO removal_log SELECT
            'segment:' || (SELECT idnumber FROM cohort WHERE id = OLD.cohortid),
            (SELECT username FROM user WHERE id = OLD.userid);
    END""",
    """CREATE TRIGGER log_group_member BEFORE DELETE ON groups_members BEGIN
        INSERT INTO removal_log SELECT
            'group:' || (SELECT idnumber FROM groups WHERE id = OLD.groupid),
            (SELECT username FROM user WHERE id = OLD.userid);
    END""",
    """CREATE TRIGGER log_enrolment BEFORE DELETE ON user_enrolments BEGIN
        INSERT INTO removal_log SELECT
            'course:' || (SELECT c.shortname FROM enrol e JOIN course c ON c.id = e.courseid
                          WHERE e.id = OLD.enrolid),
            (SELECT username FROM user WHERE id = OLD.userid);
    END""",
    """CREATE TRIGGER log_segment BEFORE DELETE ON cohort BEGIN
        INSERT INTO removal_log VALUES ('segment:' || OLD.idnumber, NULL);
    END""",
    """CREATE TRIGGER log_group BEFORE DELETE ON groups BEGIN
        INSERT INTO removal_log VALUES ('group:' || OLD.idnumber, NULL);
    END""",
)


def kept_members() -> dict[str, set[str]]:
    """Return container → the members the desired state keeps there."""
    kept = {f"segment:{sid}": members for sid, members in DESIRED_SEGMENTS.items()}
    kept |= {f"group:{gid}": members for gid, (_name, members) in DESIRED_GROUPS.items()}
    kept[f"course:{COURSE}"] = set(DESIRED_ENROLMENTS)
    return kept


def campaign_seeds() -> list[int]:
    """Return the seeds to run: ``$PLUTOCTL_CAMPAIGN_SEEDS`` or 1..50."""
    raw = os.environ.get(SEEDS_VARIABLE, "").strip()
    if not raw:
        return list(range(1, DEFAULT_RUNS + 1))
    if "," in raw:
        return [int(part) for part in raw.split(",") if part.strip()]
    if "-" in raw:
        first, last = raw.split("-", 1)
        return list(range(int(first), int(last) + 1))
    return list(range(1, int(raw) + 1))


@dataclass
class RunFigures:
    seed: int
    killed_after: int | None
    faults: int = 0
    kills: int = 0
    applies: int = 0
    exit_codes: list[int] = field(default_factory=list)
    wrongful: list[tuple[str, str]] = field(default_factory=list)

    def line(self) -> str:
        mode = f"SIGKILL after write {self.killed_after}" if self.killed_after else "in-process"
        return (
            f"seed {self.seed:>4}: {self.faults:>2} faults, {self.kills} kill(s), "
            f"applies needed {self.applies}, exits {self.exit_codes}, "
            f"wrongful removals {len(self.wrongful)} ({mode})"
        )


@pytest.fixture(scope="module")
def figures(request: pytest.FixtureRequest) -> Iterator[list[RunFigures]]:
    """Collect every run's figures; print them, and the totals, at the end of the session."""
    runs: list[RunFigures] = []
    yield runs
    if not runs:
        return
    lines = [r.line() for r in runs]
    applies = [r.applies for r in runs]
    lines.append(
        f"runs {len(runs)}; faults injected {sum(r.faults for r in runs)} "
        f"(+{sum(r.kills for r in runs)} SIGKILLs); wrongful removals "
        f"{sum(len(r.wrongful) for r in runs)}; applies needed: "
        + ", ".join(f"{n}: {applies.count(n)} runs" for n in sorted(set(applies)))
        + f"; max {max(applies)}"
    )
    session_summary.add_section(request.config, "fault campaign", lines)


def build_site(sb: Sandbox) -> None:
    """Seed a site whose first plan holds every change kind."""
    store = sb.store
    for i in range(1, 9):
        store.add_user(f"u{i}", firstname=f"U{i}", lastname="Test")
    store.add_cohort("team", "Old team name")
    store.add_cohort_members("team", ["u1", "u2", "u4"])  # update, add u3, remove u4
    store.add_cohort("learners", "Learners")
    store.add_cohort_members("learners", ["u1", "u2", "u5", "u8"])  # add u3, remove u5, u8
    store.add_cohort("stale", "Stale")  # not in the config: deleted
    store.add_cohort_members("stale", ["u7"])
    store.add_course(COURSE)
    for username, role in (("u1", "student"), ("u4", "student"), ("u5", "student")):
        store.enrol(username, COURSE, role)
    store.enrol("u8", COURSE, "student")  # left learners: unenrolled
    store.enrol("u7", COURSE, "teacher")  # holds a role no entry grants: kept
    store.add_group(COURSE, "Learners group", "g-learn")
    store.add_group_members(COURSE, "g-learn", ["u1", "u5"])  # add u2, u3, remove u5
    store.add_group(COURSE, "Old group name", "g-rename")  # renamed
    store.add_group(COURSE, "Stale group", "g-stale")  # not in the config: deleted
    store.add_group_members(COURSE, "g-stale", ["u7"])
    with store.transaction() as db:
        for statement in AUDIT:
            db.execute(statement)


def inject_faults(sb: Sandbox, rng: random.Random, seed: int) -> list:
    sb.faults.seed(seed)
    return [
        sb.faults.inject("status", rng.uniform(0.10, 0.30), writes_only=True, status=503),
        sb.faults.inject("drop", rng.uniform(0.03, 0.10), writes_only=True),
        sb.faults.inject("drop", rng.uniform(0.03, 0.10), writes_only=True, after_write=True),
    ]


def write_count(sb: Sandbox) -> int:
    return sum(1 for entry in sb.log if entry.function in WRITES)


LAUNCHER = r"""
import json, os, sys

# Import what apply needs once; every apply is a fork of this process, so it starts
# in milliseconds instead of the second a fresh interpreter takes.
import deepdiff
import plutoctl.apply.execute, plutoctl.cli.apply_cmd, plutoctl.config, plutoctl.plan.render
import plutoctl.plan.saved, plutoctl.run.apply
from plutoctl.cli import main

for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            os.environ.update(request["env"])
            sink = os.open(os.devnull, os.O_WRONLY)
            os.dup2(sink, 1)
            os.dup2(sink, 2)
            code = int(main(request["argv"]))
        finally:
            os._exit(code)
    print(pid, flush=True)
    print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
"""


class Launcher:
    """Starts ``plutoctl`` processes as forks of one warm interpreter (a zygote).

    The launcher itself runs no threads, so forking it is safe; each apply is a
    process of its own that SIGKILL ends at once, as it would end a real run.
    """

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def start(self, argv: list[str], env: dict[str, str]) -> int:
        """Start ``plutoctl ARGV`` with ``env`` added; return its pid."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps({"argv": argv, "env": env}) + "\n")
        return int(self._proc.stdout.readline())

    def has_ended(self) -> bool:
        """Return whether the last process started has ended (its exit code is ready)."""
        return bool(select.select([self._proc.stdout], [], [], 0)[0])

    def exit_code(self) -> int:
        """Wait for the last process started; return its exit code (-9 after SIGKILL)."""
        assert self._proc.stdout is not None
        return int(self._proc.stdout.readline())

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=30)


@pytest.fixture(scope="module")
def launcher() -> Iterator[Launcher]:
    started = Launcher()
    yield started
    started.close()


def apply_killed(launcher: Launcher, config: Path, sb: Sandbox, after_writes: int) -> int:
    """Run ``plutoctl apply`` as a process; SIGKILL it once ``after_writes`` writes arrived."""
    env = {TOKEN_VAR: sb.token, RETRY_BACKOFF_VARIABLE: BACKOFF, "NO_COLOR": "1"}
    start = write_count(sb)
    argv = ["apply", "-c", str(config), "--auto-approve", "--parallelism", "1", *ACKS]
    pid = launcher.start(argv, env)
    deadline = time.monotonic() + 60
    while not launcher.has_ended() and write_count(sb) - start < after_writes:
        assert time.monotonic() < deadline, "the apply neither ended nor reached its writes"
        time.sleep(0.002)
    if not launcher.has_ended():
        os.kill(pid, signal.SIGKILL)
    code = launcher.exit_code()
    # Let a write that was in flight when the client died land before the next apply.
    assert sb.wait_idle(timeout=30)
    return code


def site_state(sb: Sandbox) -> tuple:
    store = sb.store
    segments = {sid: store.cohort_members(sid) for sid in store.cohorts()}
    groups = {
        gid: (str(group["name"]), store.group_members(COURSE, gid))
        for gid, group in store.groups(COURSE).items()
    }
    return segments, store.enrolments(COURSE), groups


def wrongful_removals(sb: Sandbox) -> list[tuple[str, str]]:
    kept = kept_members()
    with sb.store.transaction() as db:
        rows = db.execute("SELECT container, username FROM removal_log").fetchall()
    found = []
    for container, username in rows:
        if container not in kept:
            continue
        if username is None or username in kept[container]:
            found.append((container, username or "(the whole object)"))
    return found


def test_the_first_plan_holds_every_change_kind(run, tmp_path: Path, monkeypatch) -> None:
    """What the campaign's runs start from: one change of every kind there is."""
    with Sandbox.start() as sb:
        build_site(sb)
        monkeypatch.setenv(TOKEN_VAR, sb.token)
        config = tmp_path / "segments.yaml"
        config.write_text(CONFIG.format(url=sb.url, var=TOKEN_VAR), encoding="utf-8")
        planned = run("plan", "-c", str(config), "--format", "json", *ACKS)
    assert planned.code == 0, planned.err
    (site,) = json.loads(planned.out)["sites"]
    assert site["refused"] == [], "an acknowledgement is missing"
    assert {change["action"] for change in site["changes"]} == {kind.action for kind in KINDS}


@pytest.mark.parametrize("seed", campaign_seeds(), ids=lambda seed: f"seed_{seed}")
def test_fault_campaign(seed: int, figures, launcher, run, tmp_path: Path, monkeypatch) -> None:
    rng = random.Random(seed)
    with Sandbox.start() as sb:
        build_site(sb)
        monkeypatch.setenv(TOKEN_VAR, sb.token)
        monkeypatch.setenv(RETRY_BACKOFF_VARIABLE, BACKOFF)
        config = tmp_path / "segments.yaml"
        config.write_text(CONFIG.format(url=sb.url, var=TOKEN_VAR), encoding="utf-8")
        rules = inject_faults(sb, rng, seed)
        kill_after = rng.randint(1, 12) if seed % 3 == 0 else None
        result = RunFigures(seed, kill_after)
        figures.append(result)
        apply = ("apply", "-c", str(config), "--auto-approve", "--parallelism", "1", *ACKS)
        for attempt in range(1, MAX_APPLIES + 1):
            if attempt == MAX_APPLIES:
                sb.faults.clear()
            if attempt == 1 and kill_after is not None:
                code = apply_killed(launcher, config, sb, kill_after)
                result.kills += code == -signal.SIGKILL
            else:
                outcome = run(*apply)
                code = outcome.code
                assert code in (0, 4), f"seed {seed} apply {attempt}: {outcome.out}{outcome.err}"
            result.exit_codes.append(code)
            result.applies = attempt
            if code == 0:
                break
        result.faults = sum(rule.fired for rule in rules)
        result.wrongful = wrongful_removals(sb)
        segments, enrolments, groups = site_state(sb)
        final = run("plan", "-c", str(config), "--detailed-exitcode", *ACKS)
    assert result.wrongful == [], result.line()
    assert result.exit_codes[-1] == 0, result.line()
    assert final.code == 0, f"{result.line()}\n{final.out}{final.err}"
    assert segments == DESIRED_SEGMENTS, result.line()
    assert enrolments == DESIRED_ENROLMENTS, result.line()
    assert groups == DESIRED_GROUPS, result.line()
