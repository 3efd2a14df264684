"""Ctrl-C exits 130 from every command, whenever it lands.

Run as real processes: a SIGINT during ``plan``'s read, and a second SIGINT while
``apply`` waits for the call in flight after the first. A proxy holds one call of
the sandbox open so that the signal lands while that call is in flight, with no
race. The held call would outlast the test (``--timeout``), so a process that waited
for it where it should not fails the test rather than passing late.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_http import Answer, HostileServer, serve

from plutoctl.cli import main
from plutoctl.errors import ExitCode
from plutoctl.sandbox import Sandbox

TOKEN_VAR = "PLUTO_TOKEN_SIGINT"
CALL_TIMEOUT = 120  # seconds plutoctl would wait for the held call
PROMPT_EXIT = 30  # seconds the test waits for the process to exit

CONFIG = """\
version: 1
sites:
  lab:
    url: {url}
    token: ${{{var}}}
segments:
  team-a:
    name: Team A
    members: [{members}]
policy:
  max_removals: 100%
"""


class HoldOnce:
    """A proxy script that holds the first call it sees open until ``release``.

    Then the call goes on to the site if it was let through (``let_through``), or is
    answered 503: its client is gone by then, and the site may be too.
    """

    def __init__(self) -> None:
        self.held = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._done = False
        self._is_let_through = False

    def let_through(self) -> None:
        self._is_let_through = True
        self.release.set()

    def __call__(self, _form: dict[str, str]) -> Answer | None:
        with self._lock:
            first, self._done = not self._done, True
        if first:
            self.held.set()
            self.release.wait(60)
            if not self._is_let_through:
                return Answer(503)
        return None  # forward it as usual


@pytest.fixture
def lab(sandbox: Sandbox) -> Sandbox:
    for i in range(30):
        sandbox.store.add_user(f"user{i:02d}", firstname="U", lastname=str(i))
    return sandbox


@pytest.fixture
def proxy(lab: Sandbox) -> Iterator[HostileServer]:
    with serve(lab.url) as server:
        yield server


def start(tmp_path: Path, proxy: HostileServer, token: str, *args: str) -> subprocess.Popen[str]:
    config = tmp_path / "segments.yaml"
    members = ", ".join(f"user{i:02d}" for i in range(30))
    config.write_text(CONFIG.format(url=proxy.url, var=TOKEN_VAR, members=members))
    env = {**os.environ, TOKEN_VAR: token, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    command = [sys.executable, "-m", "plutoctl", "--debug", *args, "-c", str(config)]
    return subprocess.Popen(
        [*command, "--timeout", str(CALL_TIMEOUT), "--parallelism", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_for_line(stream: object, needle: str) -> list[str]:
    """Read ``stream`` line by line until one holds ``needle``; return the lines read."""
    lines: list[str] = []
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        lines.append(line)
        if needle in line:
            return lines
    raise AssertionError(f"{needle!r} never came; read:\n{''.join(lines)}")


def finish(proc: subprocess.Popen[str], hold: HoldOnce) -> tuple[str, str]:
    """Wait for the process to exit, the held call still held (or already released)."""
    try:
        out, err = proc.communicate(timeout=PROMPT_EXIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("plutoctl did not exit: it waited for the call in flight") from None
    finally:
        hold.release.set()
    return out, err


def test_ctrl_c_during_plan_exits_130(lab: Sandbox, proxy: HostileServer, tmp_path: Path) -> None:
    hold = HoldOnce()
    proxy.script("core_cohort_get_cohorts", hold)
    proc = start(tmp_path, proxy, lab.token, "plan")
    assert hold.held.wait(60), "plan never read the segments"
    proc.send_signal(signal.SIGINT)
    _out, err = finish(proc, hold)
    assert proc.returncode == ExitCode.INTERRUPTED == 130, err
    assert "Interrupted." in err
    assert "Aborted." not in err
    assert "Traceback" not in err


def test_a_second_ctrl_c_during_apply_exits_130(
    lab: Sandbox, proxy: HostileServer, tmp_path: Path
) -> None:
    hold = HoldOnce()
    proxy.script("core_cohort_add_cohort_members", hold)
    proc = start(tmp_path, proxy, lab.token, "apply", "--auto-approve")
    assert hold.held.wait(60), "apply never sent a write"
    proc.send_signal(signal.SIGINT)
    # The first Ctrl-C asks the calls in flight to finish; wait until apply says so.
    wait_for_line(proc.stderr, "interrupted: sending no more calls")
    proc.send_signal(signal.SIGINT)
    _out, err = finish(proc, hold)
    assert proc.returncode == 130, err
    assert "Aborted." not in err
    assert "Traceback" not in err


def test_after_an_interrupted_apply_the_next_one_finishes(
    lab: Sandbox, proxy: HostileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hold = HoldOnce()
    proxy.script("core_cohort_add_cohort_members", hold)
    proc = start(tmp_path, proxy, lab.token, "apply", "--auto-approve")
    assert hold.held.wait(60)
    proc.send_signal(signal.SIGINT)
    # A first Ctrl-C lets the call in flight finish: it is let through once apply says so.
    wait_for_line(proc.stderr, "interrupted: sending no more calls")
    hold.let_through()
    _out, err = finish(proc, hold)
    assert proc.returncode == 130, err
    monkeypatch.setenv(TOKEN_VAR, lab.token)
    config = str(tmp_path / "segments.yaml")
    assert main(["apply", "-c", config, "--auto-approve"]) == 0
    assert len(lab.store.cohort_members("team-a")) == 30
    assert main(["plan", "-c", config, "--detailed-exitcode"]) == 0


def interrupt_saved_apply(
    function: str, lab: Sandbox, proxy: HostileServer, tmp_path: Path
) -> tuple[str, str, str]:
    """Save a plan of the lab, apply it, press Ctrl-C while ``function`` is held, let it
    through; return the config, the plan and the apply's stderr (it exited 130)."""
    start(tmp_path, proxy, lab.token, "validate").communicate(timeout=60)  # writes the config
    config, plan = str(tmp_path / "segments.yaml"), str(tmp_path / "plan.json")
    assert main(["plan", "-c", config, "--out", plan]) == 0
    hold = HoldOnce()
    proxy.script(function, hold)
    proc = start(tmp_path, proxy, lab.token, "apply", plan)
    assert hold.held.wait(60), f"apply never called {function}"
    proc.send_signal(signal.SIGINT)
    wait_for_line(proc.stderr, "interrupted: sending no more calls")
    hold.let_through()
    _out, err = finish(proc, hold)
    assert proc.returncode == 130, err
    return config, plan, err


def test_an_interrupted_saved_plan_says_to_plan_again_and_that_finishes(
    lab: Sandbox, proxy: HostileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_VAR, lab.token)
    # The segment is made; its members are never sent.
    config, plan, err = interrupt_saved_apply("core_cohort_create_cohorts", lab, proxy, tmp_path)
    assert "make a new plan and apply it (the saved plan no longer matches the site)" in err
    assert "team-a" in lab.store.cohorts()
    assert lab.store.cohort_members("team-a") == set()
    # The saved plan is refused now, as the message says; a new one finishes the work.
    assert main(["apply", plan]) == ExitCode.ERROR
    assert main(["plan", "-c", config, "--out", plan]) == 0
    assert main(["apply", plan]) == 0
    assert len(lab.store.cohort_members("team-a")) == 30
    assert main(["plan", "-c", config, "--detailed-exitcode"]) == 0


def test_a_saved_plan_interrupted_before_writing_can_be_applied_again(
    lab: Sandbox, proxy: HostileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_VAR, lab.token)
    # Held: the re-read before the first write.
    config, plan, err = interrupt_saved_apply("core_cohort_get_cohorts", lab, proxy, tmp_path)
    assert "interrupted before anything was written" in err
    assert f"nothing was written; the same plan can be applied again: plutoctl apply {plan}" in err
    assert "make a new plan" not in err and "no longer matches" not in err
    assert "team-a" not in lab.store.cohorts()
    # As the message says: the same saved plan applies.
    assert main(["apply", plan]) == 0
    assert len(lab.store.cohort_members("team-a")) == 30
    assert main(["plan", "-c", config, "--detailed-exitcode"]) == 0
