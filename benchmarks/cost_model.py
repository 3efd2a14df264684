"""Plan and apply against a sandbox that answers as slowly as a real Moodle (cost model on).

The site: 20,052 users with a `department` menu field and a `region` text field.
The config: three rule-based segments (department Sales, department Support, region
north), about 13,000 member adds. Runs `plutoctl plan --out PLAN` and then
`plutoctl apply PLAN` as child processes, and prints for each the wall time against
the modelled server time of the cheapest calls that do the job (``plutoctl.lms.functions``),
the calls and modelled server seconds per function, and what Moodle's bulk upload
tool would take for the same adds (3.4 ms each). Asserts nothing about time.

    python benchmarks/cost_model.py [--users N] [--plutoctl-path DIR]

``--plutoctl-path`` runs the plan and apply with another checkout's ``plutoctl``
package (e.g. an older version, for before/after figures); the sandbox and its cost
model are always this checkout's.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from timed import children_cpu, compile_plutoctl

from plutoctl.lms.functions import (
    BEST_STREAMS,
    BULK_TOOL_MS,
    ENROLLED_USERS,
    calls_seconds,
    cost_of,
    listing_seconds,
)

TOKEN_VARIABLE = "PLUTO_BENCH_TOKEN"
DEPARTMENTS = ("Sales", "Support", "Engineering", "Finance")
MAX_INPUT_VARS = 5000
PAGE = 1000  # users per listing page (the reader's)


def serve(conn: Connection, users: int, is_modelled: bool) -> None:
    """Run a seeded sandbox with the cost model; answer questions until told to stop."""
    from plutoctl.sandbox import CostModel, FieldSpec, Sandbox, Store, generate

    store = Store()
    fields = [FieldSpec("department", "menu", DEPARTMENTS), FieldSpec("region", "text")]
    generate(store, users=users, courses=0, fields=fields)
    model = CostModel()
    costs = model if is_modelled else None
    with Sandbox.start(store=store, max_input_vars=MAX_INPUT_VARS, costs=costs) as sb:
        conn.send((sb.url, sb.token, store.user_count()))
        while (command := conn.recv()) != "stop":
            if command == "take":
                calls = Counter(entry.function or "" for entry in sb.log)
                modelled = {f: model.seconds_by_function.get(f, 0.0) for f in calls}
                conn.send((dict(calls), modelled))
                sb.log.clear()
                model.seconds_by_function.clear()
            elif command == "members":
                conn.send({i: len(sb.store.cohort_members(i)) for i in sb.store.cohorts()})


CONFIG = """\
version: 1
sites:
  bench:
    url: {url}
    token: ${{{token}}}
    max_input_vars: {max_input_vars}
segments:
  sales:
    name: Sales
    rules:
      - field: department
        match: exact
        value: Sales
  support:
    name: Support
    rules:
      - field: department
        match: exact
        value: Support
  north:
    name: North
    rules:
      - field: region
        match: exact
        value: north
"""


# An editable install's import hook comes before sys.path: drop it to run another tree.
OTHER_CHECKOUT = """\
import sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f)]
sys.path.insert(0, {path!r})
import plutoctl.cli
assert plutoctl.cli.__file__.startswith({path!r}), plutoctl.cli.__file__
sys.argv[0] = "plutoctl"
sys.exit(plutoctl.cli.main())
"""


def run(args: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """Run plutoctl; return its wall and CPU seconds, exit code and output."""
    cpu = children_cpu()
    started = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode not in (0, 2):
        sys.exit(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return wall, children_cpu() - cpu, done.returncode, done.stdout


def show_calls(calls: dict[str, int], seconds: dict[str, float]) -> None:
    print(f"  {'function':40} {'calls':>6} {'modelled s (1 stream)':>22}")
    for function in sorted(calls):
        print(f"  {function:40} {calls[function]:6,} {seconds.get(function, 0.0):22.2f}")
    total = sum(seconds.values())
    print(f"  {'total':40} {sum(calls.values()):6,} {total:22.2f}")


def plan_floor(users: int) -> float:
    """The cheapest reads that answer the plan: every user with id,username,customfields."""
    fixed = (cost_of("core_webservice_get_site_info").fixed_ms + cost_of("").fixed_ms) / 1000
    listing = listing_seconds(
        users, ("id", "username", "customfields"), page=PAGE, streams=BEST_STREAMS
    )
    return fixed + listing


def apply_ceiling(users: int, adds: int, segments: int) -> float:
    """Writes at the best concurrency + the cheapest freshness and verification reads.

    The freshness check of a saved plan recomputes it from the config, so it needs the
    profiles of the users the changes name (about 11,500 of 20,052): every user listed
    with ``id,username,customfields`` is the cheapest way to read them.
    """
    add_calls = -(-adds // 1249)
    writes = calls_seconds("core_cohort_create_cohorts", 1, segments)
    writes += calls_seconds("core_cohort_add_cohort_members", add_calls, adds)
    fixed = (cost_of("core_webservice_get_site_info").fixed_ms + cost_of("").fixed_ms) / 1000
    fields = ("id", "username", "customfields")
    learn = listing_seconds(users, fields, page=PAGE, streams=BEST_STREAMS)
    learn += cost_of(ENROLLED_USERS).fixed_ms / 1000  # the probe that chose the listing
    verify = calls_seconds("core_cohort_get_cohort_members", 1, adds)
    return writes + 2 * fixed + learn + verify


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20_052)
    parser.add_argument("--plutoctl-path", type=Path)
    parser.add_argument(
        "--no-cost-model", action="store_true", help="the sandbox answers at once (for comparison)"
    )
    args = parser.parse_args()

    parent, child = multiprocessing.get_context("fork").Pipe()
    server = multiprocessing.get_context("fork").Process(
        target=serve, args=(child, args.users, not args.no_cost_model), daemon=True
    )
    server.start()
    url, token, users = parent.recv()

    def take() -> tuple[dict[str, int], dict[str, float]]:
        parent.send("take")
        answer: tuple[dict[str, int], dict[str, float]] = parent.recv()
        return answer

    env = {**os.environ, TOKEN_VARIABLE: token}
    compile_plutoctl(args.plutoctl_path)
    cli = [sys.executable, "-m", "plutoctl"]
    if args.plutoctl_path:
        cli = [sys.executable, "-c", OTHER_CHECKOUT.format(path=str(args.plutoctl_path))]
    with tempfile.TemporaryDirectory() as directory:
        config = Path(directory) / "segments.yaml"
        config.write_text(
            CONFIG.format(url=url, token=TOKEN_VARIABLE, max_input_vars=MAX_INPUT_VARS)
        )
        plan_path = Path(directory) / "plan.json"
        start_wall, start_cpu, _, _ = run([*cli, "--version"], env)
        plan_wall, plan_cpu, _, _ = run(
            [*cli, "plan", "-c", str(config), "--out", str(plan_path)], env
        )
        plan_calls, plan_seconds = take()
        plan = json.loads(plan_path.read_text())
        adds = plan["sites"][0]["summary"]["members_add"]
        estimate = plan["sites"][0].get("estimated_seconds")
        apply_wall, apply_cpu, _, out = run([*cli, "apply", str(plan_path), "-c", str(config)], env)
        apply_calls, apply_seconds = take()
        parent.send("members")
        members = parent.recv()
        _, _, again, _ = run([*cli, "plan", "-c", str(config), "--detailed-exitcode"], env)
        take()
    parent.send("stop")
    server.join(timeout=30)
    print(f"plutoctl start-up (--version): wall {start_wall:.2f} s, CPU {start_cpu:.2f} s")
    report(users, adds, members, estimate, (plan_wall, plan_cpu, plan_calls, plan_seconds))
    report_apply(users, adds, (apply_wall, apply_cpu, apply_calls, apply_seconds), out)
    print(f"\nsecond plan after the apply: {'empty' if again == 0 else 'NOT EMPTY'}")


def report(users: int, adds: int, members: Any, estimate: Any, plan: Any) -> None:
    wall, cpu, calls, seconds = plan
    floor = plan_floor(users)
    print(f"site: {users:,} users; plan: {adds:,} member adds into 3 segments {members}")
    print(
        f"\nplan: wall {wall:.2f} s (plutoctl CPU {cpu:.2f} s); modelled floor {floor:.2f} s;",
        end="",
    )
    print(f" ratio {wall / floor:.2f}")
    show_calls(calls, seconds)
    print(f"  plan's own estimate of the apply: {estimate} s")


def report_apply(users: int, adds: int, applied: Any, out: str) -> None:
    wall, cpu, calls, seconds = applied
    ceiling = apply_ceiling(users, adds, 3)
    print(f"\napply (saved plan): wall {wall:.2f} s (plutoctl CPU {cpu:.2f} s); ", end="")
    print(f"modelled ceiling {ceiling:.2f} s; ", end="")
    print(f"ratio {wall / ceiling:.2f}")
    show_calls(calls, seconds)
    print(f"  Moodle's bulk upload tool for the same adds: {adds * BULK_TOOL_MS / 1000:.1f} s")
    by_field = calls.get("core_user_get_users_by_field", 0)
    print(f"  core_user_get_users_by_field calls: {by_field}")
    print("  apply output:\n    " + "\n    ".join(out.strip().splitlines()[-4:]))


if __name__ == "__main__":
    main()
