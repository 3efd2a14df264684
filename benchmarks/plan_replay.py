"""Plan the plan_scale site against its recorded answers: plutoctl's own CPU, quickly.

``plan_scale.py`` plans against a live sandbox, which at 100,000 users answers a plan
in about a minute on a slow machine; plutoctl's CPU is a sixth of that. To measure
or profile plutoctl alone, record the site's answers to one plan once, then plan
again and again against a server that answers from the recording at once:

    python benchmarks/plan_replay.py record DIR [--state first|applied|changed]
    python benchmarks/plan_replay.py run DIR [--runs 3] [--plutoctl-path TREE]

``record`` builds the plan_scale site and config (the same defaults and seed),
brings the site to ``--state`` (``first``: nothing applied; ``applied``: the desired
state, so the plan is empty; ``changed``: then 1% of the profiles changed, as
plan_scale's third plan), and plans once through a proxy that keeps every answer.
``run`` serves those answers from a child process and plans ``--runs`` times, each a
fresh process (as plan_scale's ``--measure-plan``), printing CPU, peak memory and
wall time (min / median / max) and checking each plan's changes, refusals, errors and
summary against the recorded plan's. A profiler can be put in front of one plan with ``--prefix``
(e.g. ``--prefix "py-spy record --gil -f raw -o prof.txt --"``).

The user listing's last page is sized by when earlier pages came back
(``plutoctl.lms.paging``), so a replayed plan may ask for pages the recording does
not hold: the server cuts any page of a recorded listing from the whole listing.
Anything else not recorded is answered with HTTP 500 and counted: a replay that
misses is reported, not trusted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import pickle
import random
import re
import shlex
import statistics
import subprocess
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import plan_scale as scale
from timed import compile_plutoctl

Answer = tuple[int, list[tuple[str, str]], bytes]
"""Status, headers (but Date, Content-Length and Connection) and body of an answer."""
ANSWERS = "answers.pickle"
LISTING = "core_enrol_get_enrolled_users"
_SKIPPED_HEADERS = {"date", "content-length", "connection"}


class _Handler(BaseHTTPRequestHandler):
    """Keep-alive, silent, and reads a request's body."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def body(self) -> bytes:
        return self.rfile.read(int(self.headers["Content-Length"]))


# --- record ------------------------------------------------------------------------------


def record(directory: Path, state: str) -> None:
    args = scale.arguments().parse_args([])  # plan_scale's scenario, as its defaults make it
    server = scale.Server(args)
    try:
        rng = random.Random(5)
        profiles = {u: p for u, p in server.ask("profiles").items() if u not in ("guest", "admin")}
        usernames = sorted(profiles)
        scenario = scale.build_scenario(args, usernames, rng)
        if state in ("applied", "changed"):
            members = scale.desired_members(scenario, profiles)
            enrolments = server.ask("enrolments", list(scenario.groups))
            server.ask("load", scale.applied_state(scenario, members, enrolments))
        if state == "changed":
            changed = rng.sample(usernames, int(len(usernames) * args.changed))
            server.ask("change", {u: scale.new_profile(rng) for u in changed})
        answers: dict[tuple[str, bytes], Answer] = {}
        proxy = _start_proxy(server.url, answers)
        directory.mkdir(parents=True, exist_ok=True)
        config = scale.write_config(scenario, directory, _url(proxy), args.max_input_vars)
        (directory / "token").write_text(server.token)
        figures = _plan(directory, config, [])
        proxy.shutdown()
        with (directory / ANSWERS).open("wb") as stream:
            pickle.dump(answers, stream, protocol=pickle.HIGHEST_PROTOCOL)
        (directory / "recorded-plan.json").write_text((directory / "plan.json").read_text())
    finally:
        server.stop()
    size = sum(len(answer[2]) for answer in answers.values())
    print(f"recorded {len(answers)} answers ({size / 1e6:.1f} MB) of a plan in {directory}")
    print(f"  that plan: {figures['cpu']:.2f} s CPU, exit {figures['exit']}")


def _start_proxy(target: str, answers: dict[tuple[str, bytes], Answer]) -> ThreadingHTTPServer:
    parts = urllib.parse.urlsplit(target)
    local = threading.local()

    class Proxy(_Handler):
        def do_POST(self) -> None:
            body = self.body()
            if not hasattr(local, "connection"):
                local.connection = http.client.HTTPConnection(parts.hostname, parts.port)
            local.connection.request(
                "POST", self.path, body, {"Content-Type": self.headers["Content-Type"]}
            )
            response = local.connection.getresponse()
            data = response.read()
            headers = [
                (k, v) for k, v in response.getheaders() if k.lower() not in _SKIPPED_HEADERS
            ]
            answers[(self.path, body)] = (response.status, headers, data)
            _send(self, (response.status, headers, data))

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    return proxy


# --- replay ------------------------------------------------------------------------------


class Recording:
    """The recorded answers, and every recorded listing whole, to cut pages from."""

    def __init__(self, answers: dict[tuple[str, bytes], Answer]) -> None:
        self.answers = answers
        self.misses = 0
        pages: dict[tuple[str, str], dict[int, list[Any]]] = {}
        self.headers: list[tuple[str, str]] = []
        for (_path, body), (status, headers, data) in answers.items():
            key, start, _size = _listing_page(body)
            if key is not None and status == 200:
                pages.setdefault(key, {})[start] = json.loads(data)
                self.headers = headers
        self.listings = {
            key: [row for _, rows in sorted(by_start.items()) for row in rows]
            for key, by_start in pages.items()
            if len(by_start) > 1
        }

    def answer(self, path: str, body: bytes) -> Answer:
        key, start, size = _listing_page(body)
        if key in self.listings:
            rows = self.listings[key]
            page = rows[start : start + size] if size else rows[start:]
            return 200, self.headers, json.dumps(page, separators=(",", ":")).encode()
        found = self.answers.get((path, body))
        if found is None:
            self.misses += 1
            return 500, [("Content-Type", "text/plain")], b"not recorded"
        return found


def _listing_page(body: bytes) -> tuple[tuple[str, str] | None, int, int]:
    """Return ((course, fields), limitfrom, limitnumber) of a page of a listing, or None."""
    form = dict(urllib.parse.parse_qsl(body.decode()))
    if form.get("wsfunction") != LISTING:
        return None, 0, 0
    options = {
        form[f"options[{i}][name]"]: form.get(f"options[{i}][value]", "")
        for i in range(8)
        if f"options[{i}][name]" in form
    }
    if "limitfrom" not in options or "sortby" in options:
        return None, 0, 0  # not a page: a count's probe, or a course's whole enrolment
    key = (form.get("courseid", ""), options.get("userfields", ""))
    return key, int(options["limitfrom"]), int(options.get("limitnumber") or 0)


def _send(handler: BaseHTTPRequestHandler, answer: Answer) -> None:
    status, headers, data = answer
    handler.send_response(status)
    for name, value in headers:
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def serve(conn: Connection, directory: Path) -> None:
    """(Child process.) Answer from the recording; say the misses so far when asked."""
    with (directory / ANSWERS).open("rb") as stream:
        recording = Recording(pickle.load(stream))

    class Replay(_Handler):
        def do_POST(self) -> None:
            _send(self, recording.answer(self.path, self.body()))

    server = ThreadingHTTPServer(("127.0.0.1", 0), Replay)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn.send(_url(server))
    while conn.recv() != "stop":
        conn.send(recording.misses)


def run(directory: Path, runs: int, tree: Path | None, prefix: list[str]) -> bool:
    compile_plutoctl(tree)
    context = multiprocessing.get_context("fork")
    conn, child = context.Pipe()
    process = context.Process(target=serve, args=(child, directory), daemon=True)
    process.start()
    url = conn.recv()
    config = directory / "replayed.yaml"
    text = (directory / "segments.yaml").read_text()
    config.write_text(re.sub(r"url: http://127\.0\.0\.1:\d+", f"url: {url}", text))
    expected = _outcome(json.loads((directory / "recorded-plan.json").read_text()))
    figures = []
    ok = True
    try:
        for number in range(runs):
            result = _plan(directory, config, prefix, tree)
            conn.send("misses?")
            misses = conn.recv()
            outcome = _outcome(json.loads((directory / "plan.json").read_text()))
            same = outcome == expected and misses == 0
            ok = ok and same
            figures.append(result)
            print(
                f"plan {number + 1}: {result['cpu']:.2f} s CPU, peak {result['maxrss_mb']:.0f} MB,"
                f" {result['wall']:.2f} s wall, exit {result['exit']}; "
                + ("the recorded plan" if same else f"NOT THE RECORDED PLAN ({misses} misses)")
            )
    finally:
        conn.send("stop")
        process.join(timeout=30)
    for name, unit in (("cpu", "s"), ("maxrss_mb", "MB"), ("wall", "s")):
        values = sorted(f[name] for f in figures)
        print(
            f"{name:9} min / median / max: {values[0]:.2f} / {statistics.median(values):.2f} / "
            f"{values[-1]:.2f} {unit}"
        )
    return ok


def _outcome(plan: dict[str, Any]) -> Any:
    """What a replayed plan must repeat: each site's changes, refusals and errors, the summary."""
    return plan["summary"], [
        (s["site"], s["changes"], s["refused"], s["held_back"], len(s["errors"]))
        for s in plan["sites"]
    ]


def _plan(directory: Path, config: Path, prefix: list[str], tree: Path | None = None) -> Any:
    """Plan in a fresh process (plan_scale's ``--measure-plan``); return its figures."""
    env = {**os.environ, scale.TOKEN_VARIABLE: (directory / "token").read_text()}
    if tree is not None:
        env[scale.OTHER_TREE] = str(tree.resolve())
    script = str(Path(scale.__file__))
    command = [*prefix, sys.executable, script, "--measure-plan", str(config)]
    result = subprocess.run(
        [*command, str(directory / "plan.json")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if not lines:
        sys.exit(f"the plan process failed:\n{result.stderr[-3000:]}")
    return json.loads(lines[-1])


def _url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def _at_least_one(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a number of runs, 1 or more: {text!r}")
    return int(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    recording = commands.add_parser("record", help="record the answers to one plan")
    recording.add_argument("directory", type=Path)
    recording.add_argument("--state", choices=("first", "applied", "changed"), default="applied")
    running = commands.add_parser("run", help="plan against the recorded answers")
    running.add_argument("directory", type=Path)
    running.add_argument("--runs", type=_at_least_one, default=3)
    running.add_argument("--plutoctl-path", type=Path, help="plan with another checkout")
    running.add_argument("--prefix", default="", help="a command to run each plan under")
    args = parser.parse_args()
    if args.command == "record":
        record(args.directory, args.state)
    else:
        sys.exit(
            0 if run(args.directory, args.runs, args.plutoctl_path, shlex.split(args.prefix)) else 1
        )


if __name__ == "__main__":
    main()
