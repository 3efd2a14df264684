"""What ``apply PLAN`` reads to re-verify a saved plan, against what ``plan`` read.

Site: N users (a quarter in Sales), segment ``sales`` by rule on ``user.department``,
segment ``leads`` by list, course ``C1`` enrolling and grouping ``sales``. After a
first apply, one user moves to Sales; ``plan --out`` then plans one add to ``sales``,
one enrolment and one group add, and ``apply PLAN`` re-verifies and applies it.

Prints, for the plan and for the apply of the saved plan, the web-service calls by
function and the wall time (in-process sandbox: the times are only indicative).

    python benchmarks/saved_plan_reads.py [--users N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from plutoctl.cli import main
from plutoctl.sandbox import Sandbox

CONFIG = """\
version: 1
sites:
  lab:
    url: {url}
    token: ${{PLUTO_TOKEN_BENCH}}
segments:
  sales:
    name: Sales
    rules:
      - {{field: user.department, match: exact, value: Sales}}
  leads:
    name: Leads
    members: [u000001, u000002, u000003]
courses:
  C1:
    groups:
      g-sales:
        name: Sales group
        segment: sales
    enrol:
      - segment: sales
        role: student
"""


def run(*args: str) -> tuple[int, float]:
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main(list(args))
    return int(code), time.perf_counter() - start


def calls(sandbox: Sandbox) -> Counter[str]:
    return Counter(entry.function or "?" for entry in sandbox.log)


def show(title: str, code: int, seconds: float, counted: Counter[str]) -> None:
    print(f"{title}: exit {code}, {sum(counted.values())} calls, {seconds:.2f} s")
    for function, count in sorted(counted.items()):
        print(f"  {count:5d}  {function}")


def main_bench() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=20000)
    users = parser.parse_args().users
    with Sandbox.start() as sandbox, tempfile.TemporaryDirectory() as tmp:
        rows = [
            (f"u{i:06d}", "U", str(i), f"u{i:06d}@example.com", "", "Sales" if i % 4 else "HR")
            for i in range(1, users + 1)
        ]
        sandbox.store.add_users(rows)
        sandbox.store.add_course("C1")
        os.environ["PLUTO_TOKEN_BENCH"] = sandbox.token
        config = Path(tmp) / "segments.yaml"
        config.write_text(CONFIG.format(url=sandbox.url), encoding="utf-8")
        assert run("apply", "-c", str(config), "--auto-approve")[0] == 0
        with sandbox.store.transaction() as db:
            db.execute("UPDATE user SET department = 'Sales' WHERE username = 'u000004'")
        saved = Path(tmp) / "plan.json"
        sandbox.log.clear()
        code, seconds = run("plan", "-c", str(config), "--out", str(saved))
        show(f"plan --out ({users:,} users)", code, seconds, calls(sandbox))
        sandbox.log.clear()
        code, seconds = run("apply", str(saved))
        show("apply PLAN (re-verify, apply, verify)", code, seconds, calls(sandbox))
        assert run("plan", "-c", str(config), "--detailed-exitcode")[0] == 0


if __name__ == "__main__":
    main_bench()
