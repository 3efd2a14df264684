"""End to end against a sandbox reached over HTTP with a token, like a real site."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TOKEN_VAR = "PLUTO_TOKEN_E2E"

CONFIG = """\
version: 1
sites:
  lab:
    url: {url}
    token: ${{{var}}}
    max_input_vars: {max_input_vars}
segments:
  team-a:
    name: Team A
    members: [{team_a}]
  team-b:
    name: Team B
    rules:
      - {{field: department, match: exact, value: Sales}}
courses:
  LAB101:
    groups:
      grp-a:
        name: Group A
        segment: team-a
    enrol:
      - segment: team-a
        role: student
policy:
  max_removals: {max_removals}
"""


def seed(store, users: int = 30) -> list[str]:
    store.add_profile_field("department", "menu", options=["Sales", "HR", "IT", "Ops"])
    names = []
    for i in range(users):
        name = f"user{i:03d}"
        dept = "Sales" if i % 3 == 0 else "HR"
        store.add_user(name, firstname="U", lastname=str(i), custom={"department": dept})
        names.append(name)
    store.add_course("LAB101")
    return names


def write_config(
    tmp_path: Path, sb, members: list[str], *, max_removals: str = "25%", max_input_vars: int = 1000
) -> Path:
    path = tmp_path / "segments.yaml"
    path.write_text(
        CONFIG.format(
            url=sb.url,
            var=TOKEN_VAR,
            team_a=", ".join(members),
            max_removals=max_removals,
            max_input_vars=max_input_vars,
        ),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def site(sandbox, monkeypatch, tmp_path):
    names = seed(sandbox.store)
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    return sandbox, names


def test_plan_apply_converges(site, tmp_path, run) -> None:
    sb, names = site
    config = write_config(tmp_path, sb, names[:10])
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 2
    applied = run("apply", "-c", str(config), "--auto-approve")
    assert applied.code == 0, applied.err + applied.out
    assert sb.store.cohort_members("team-a") == set(names[:10])
    assert sb.store.cohort_members("team-b") == {n for i, n in enumerate(names) if i % 3 == 0}
    assert set(sb.store.enrolments("LAB101")) == set(names[:10])
    assert sb.store.group_members("LAB101", "grp-a") == set(names[:10])
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0


def test_wrong_token_is_refused_and_never_printed(site, tmp_path, run, monkeypatch) -> None:
    sb, names = site
    config = write_config(tmp_path, sb, names[:3])
    wrong = "f" * 32
    monkeypatch.setenv(TOKEN_VAR, wrong)
    result = run("plan", "-c", str(config))
    assert result.code == 1
    assert "invalidtoken" in result.out + result.err
    assert wrong not in result.out + result.err
    assert sb.token not in result.out + result.err


def test_unset_token_variable_is_named(site, tmp_path, run, monkeypatch) -> None:
    sb, names = site
    config = write_config(tmp_path, sb, names[:3])
    monkeypatch.delenv(TOKEN_VAR)
    result = run("plan", "-c", str(config))
    assert result.code == 1
    assert f"environment variable {TOKEN_VAR} is not set" in result.out
    line = config.read_text(encoding="utf-8").splitlines().index(f"    token: ${{{TOKEN_VAR}}}")
    assert f"(token: at {config}:{line + 1}:5)" in result.out
    for blank in ("", "  ", "\n"):
        monkeypatch.setenv(TOKEN_VAR, blank)
        result = run("plan", "-c", str(config))
        assert result.code == 1
        assert f"environment variable {TOKEN_VAR} is empty" in result.out


def test_a_token_pasted_with_its_line_end_works(site, tmp_path, run, monkeypatch) -> None:
    sb, names = site
    config = write_config(tmp_path, sb, names[:3])
    monkeypatch.setenv(TOKEN_VAR, f" {sb.token}\n")  # as a CI secret pasted from `echo`
    result = run("plan", "-c", str(config))
    assert result.code == 0, result.out + result.err


def test_saved_plan_holds_no_token_and_stale_plan_is_refused(site, tmp_path, run) -> None:
    sb, names = site
    config = write_config(tmp_path, sb, names[:10])
    plan_file = tmp_path / "plan.json"
    assert run("plan", "-c", str(config), "--out", str(plan_file)).code == 0
    assert sb.token not in plan_file.read_text(encoding="utf-8")
    # Someone changes a segment the plan touches before it is applied.
    sb.store.add_cohort("team-a", "Team A (by hand)")
    stale = run("apply", str(plan_file), "-c", str(config))
    assert stale.code == 1
    assert "stale" in stale.err and "team-a" in stale.err
    assert sb.store.cohort_members("team-a") == set()
    # Planning again and applying converges.
    assert run("apply", "-c", str(config), "--auto-approve").code == 0
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0


def test_large_removal_needs_acknowledgement(site, tmp_path, run) -> None:
    sb, names = site
    config = write_config(tmp_path, sb, names[:20], max_removals="2")
    assert run("apply", "-c", str(config), "--auto-approve").code == 0
    config = write_config(tmp_path, sb, names[:5], max_removals="2")
    refused = run("plan", "-c", str(config))
    assert refused.code == 3
    assert "--allow-removals team-a" in refused.out + refused.err
    assert run("apply", "-c", str(config), "--auto-approve").code == 3
    assert len(sb.store.cohort_members("team-a")) == 20
    done = run(
        "apply",
        "-c",
        str(config),
        "--auto-approve",
        "--allow-removals",
        "team-a",
        "--allow-removals",
        "LAB101/grp-a",
    )
    assert done.code == 0, done.out + done.err
    assert sb.store.cohort_members("team-a") == set(names[:5])
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0


def test_apply_under_faults_converges(site, tmp_path, run) -> None:
    sb, names = site
    config = write_config(tmp_path, sb, names[:25], max_input_vars=60)
    sb.faults.seed(7)
    sb.faults.inject(kind="status", status=503, rate=0.3, writes_only=True, retry_after=0)
    first = run("apply", "-c", str(config), "--auto-approve")
    assert first.code in (0, 4), first.out + first.err
    sb.faults.clear()
    assert run("apply", "-c", str(config), "--auto-approve").code == 0
    assert sb.store.cohort_members("team-a") == set(names[:25])
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0


def test_interrupted_apply_is_completed_by_the_next(site, tmp_path, run) -> None:
    sb, names = site
    # 11 members per call (max_input_vars 50), one call in flight, each held 0.2 s by the
    # site: killed after the first add lands, at most the second (in flight) can follow,
    # so team-a (30 members) is left partial whatever the timing.
    config = write_config(tmp_path, sb, names, max_input_vars=50)
    sb.faults.inject(kind="latency", seconds=0.2, writes_only=True)
    env = {**os.environ, TOKEN_VAR: sb.token, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "plutoctl",
            "apply",
            "-c",
            str(config),
            "--auto-approve",
            "--parallelism",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and sb.log.count("core_cohort_add_cohort_members") < 1:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    # The killed client's last call may still be sleeping in the latency fault; let it
    # land first, or the next apply sees the site change under its own plan.
    assert sb.wait_idle(timeout=10)
    sb.faults.clear()
    partial = sb.store.cohort_members("team-a")
    assert partial != set(names), "the apply finished before it could be interrupted"
    assert run("apply", "-c", str(config), "--auto-approve").code == 0
    assert sb.store.cohort_members("team-a") == set(names)
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0


def test_token_service_missing_write_functions_is_one_clear_error(
    make_sandbox, tmp_path, run, monkeypatch
) -> None:
    from plutoctl.sandbox.functions import registry

    read_only = [name for name in registry() if "create" not in name and "add" not in name]
    sb = make_sandbox(functions=read_only)
    names = seed(sb.store, users=3)
    monkeypatch.setenv(TOKEN_VAR, sb.token)
    config = write_config(tmp_path, sb, names)
    result = run("plan", "-c", str(config))
    assert result.code == 1
    text = result.out + result.err
    assert "core_cohort_create_cohorts" in text and "core_cohort_add_cohort_members" in text
    assert "missingfunctions" in text


@pytest.mark.parametrize(
    "function", ["core_course_get_courses_by_field", "core_group_get_course_groups"]
)
def test_a_course_that_cannot_be_read_is_not_planned(site, tmp_path, run, function) -> None:
    sb, names = site
    config = write_config(tmp_path, sb, names[:10])
    assert run("apply", "-c", str(config), "--auto-approve").code == 0
    sb.faults.inject(kind="status", status=500, function=function)
    result = run("plan", "-c", str(config), "--detailed-exitcode")
    assert "could not be read" in result.out
    assert "does not exist" not in result.out
    assert "+ group" not in result.out  # the group exists: an unread list must not hide it
    # A drift check cannot say the site matches what it could not read.
    assert result.code == 1, result.out + result.err
    assert "the read of site 'lab' was incomplete" in result.out
    assert "No changes found in what could be read (the read was incomplete)." in result.out
    assert "No changes.\n" not in result.out
    sb.faults.clear()
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0


def test_an_acknowledgement_that_matches_nothing_is_named(site, tmp_path, run) -> None:
    sb, names = site
    config = write_config(tmp_path, sb, names[:20], max_removals="2")
    assert run("apply", "-c", str(config), "--auto-approve").code == 0
    config = write_config(tmp_path, sb, names[:5], max_removals="2")
    result = run("plan", "-c", str(config), "--allow-removals", "team-aa")
    assert result.code == 3
    assert "warning: --allow-removals team-aa matches no change" in result.err
    used = run("plan", "-c", str(config), "--allow-removals", "team-a")
    assert "--allow-removals team-a matches" not in used.err
