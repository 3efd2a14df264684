"""Problems found by using plutoctl as an admin would, each pinned by a test."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TOKEN_VAR = "PLUTO_TOKEN_TRIALS"

CONFIG = """\
version: 1
sites:
  lab:
    url: {url}
    token: ${{{var}}}
    max_input_vars: 60
segments:
  team-a:
    name: Team A
    members: [{members}]
courses:
  LAB101:
    enrol:
      - segment: team-a
        role: student
policy:
  max_removals: 100%
"""


def seed_users(store, count: int) -> list[str]:
    names = [f"user{i:03d}" for i in range(count)]
    for i, name in enumerate(names):
        store.add_user(name, firstname="U", lastname=str(i))
    store.add_course("LAB101")
    return names


def write_config(tmp_path: Path, sb, names: list[str]) -> Path:
    path = tmp_path / "segments.yaml"
    text = CONFIG.format(url=sb.url, var=TOKEN_VAR, members=", ".join(names))
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_mid_apply_stops_sending_and_reports_what_was_done(
    sandbox, tmp_path, run, monkeypatch, sent: signal.Signals
) -> None:
    """SIGTERM too: what a CI system sends a job it cancels."""
    names = seed_users(sandbox.store, 400)  # 29 calls: 8 per superbatch
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    config = write_config(tmp_path, sandbox, names)
    sandbox.faults.inject(kind="latency", seconds=0.2, writes_only=True)
    env = {**os.environ, TOKEN_VAR: sandbox.token, "PYTHONUNBUFFERED": "1"}
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "plutoctl", "apply", "-c", str(config), "--auto-approve"]
    proc = subprocess.Popen(
        [*command, "--parallelism", "1", "--report", str(report)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and sandbox.log.count("core_cohort_add_cohort_members") < 1:
        time.sleep(0.05)
    proc.send_signal(sent)
    out, err = proc.communicate(timeout=60)
    assert sandbox.wait_idle(timeout=10)
    sandbox.faults.clear()

    assert proc.returncode == 130, err
    # It stopped sending: the members were not all added and nobody was enrolled.
    added = sandbox.store.cohort_members("team-a")
    assert 0 < len(added) < len(names)
    # Only the call in flight when the Ctrl-C landed (or the next, if it had just
    # begun) was let finish, not the rest of a batch of 8 calls.
    assert sandbox.log.count("core_cohort_add_cohort_members") <= 2
    assert sandbox.log.count("enrol_manual_enrol_users") == 0
    # ... and it said what it had done and what it had not, and what to do next.
    assert "site lab:" in out
    assert "interrupted" in out
    assert "Interrupted" in err
    assert "Run `plutoctl apply` again" in err
    assert "Traceback" not in err
    [site] = json.loads(report.read_text(encoding="utf-8"))["sites"]
    assert site["success"] is False and site["report"]["skipped"]

    assert run("apply", "-c", str(config), "--auto-approve").code == 0
    assert sandbox.store.cohort_members("team-a") == set(names)
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0


def test_ctrl_c_during_the_re_read_of_a_saved_plan_stops_it_and_writes_nothing(
    sandbox, tmp_path, run, monkeypatch
) -> None:
    """The re-read before the first write sent every call it had left after a Ctrl-C."""
    names = seed_users(sandbox.store, 40)
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    config = write_config(tmp_path, sandbox, names)
    plan = tmp_path / "plan.json"
    assert run("plan", "-c", str(config), "--out", str(plan)).code == 0
    sandbox.log.clear()
    sandbox.faults.inject(kind="latency", seconds=0.4)  # every call, reads included
    env = {**os.environ, TOKEN_VAR: sandbox.token, "PYTHONUNBUFFERED": "1"}
    report = tmp_path / "report.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "plutoctl", "apply", str(plan), "--parallelism", "1",
         "--report", str(report)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and sandbox.log.count() < 1:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    at_signal = sandbox.log.count()
    out, err = proc.communicate(timeout=60)
    sandbox.faults.clear()

    assert proc.returncode == 130, err
    # The call in flight (and one just begun) finished; no other was sent, nothing written.
    assert sandbox.log.count() <= at_signal + 2, (at_signal, out, err)
    assert sandbox.log.count("core_cohort_create_cohorts") == 0
    [site] = json.loads(report.read_text(encoding="utf-8"))["sites"]
    assert "interrupted before anything was written" in site["error"]
    assert "Traceback" not in err
    assert run("apply", str(plan)).code == 0
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "segments.yaml"
    head = "version: 1\nsites:\n  demo:\n    url: sandbox:demo.db\n"
    path.write_text(head + body, encoding="utf-8")
    return path


def test_validate_refuses_names_the_site_would_reject(tmp_path, run) -> None:
    config = _write(
        tmp_path,
        "segments:\n"
        "  blank:\n"
        '    name: "   "\n'
        "courses:\n"
        "  C1:\n"
        "    groups:\n"
        "      tagged:\n"
        '        name: "Team <b>A</b>"\n'
        "      empty:\n"
        '        name: " "\n',
    )
    result = run("validate", "-c", str(config))
    assert result.code == 1
    assert "segments.yaml:7:5: segments.blank.name: the name is blank" in result.err
    assert "segments.yaml:12:9: courses.C1.groups.tagged.name: " in result.err
    assert "HTML tag" in result.err
    assert "segments.yaml:14:9: courses.C1.groups.empty.name: the name is blank" in result.err


def test_segment_names_may_hold_tags_and_ampersands(tmp_path, run) -> None:
    # Segment (cohort) names are PARAM_RAW: only group names reject tags.
    config = _write(tmp_path, 'segments:\n  s:\n    name: "R&D <b>x</b>"\n')
    assert run("validate", "-c", str(config)).code == 0


def test_stale_check_hint_fits_both_ways_of_applying() -> None:
    # `apply` without a plan file also re-reads before writing; its remedy is to run
    # apply again, not to make a saved plan the user never asked for.
    from plutoctl.errors import StalePlanError
    from plutoctl.model import ExistingSite
    from plutoctl.plan.changes.plans import SitePlan
    from plutoctl.run.apply import check_fresh

    site_plan = SitePlan(site="lab", fingerprints=(("segment:team-a", "0" * 64),))
    existing = ExistingSite(site="lab", segments={}, users={}, courses={})
    with pytest.raises(StalePlanError) as caught:
        check_fresh(site_plan, existing)
    assert "segment:team-a" in caught.value.message
    assert caught.value.hint is not None
    assert "plutoctl apply" in caught.value.hint
    assert "plutoctl plan --out" in caught.value.hint


def test_a_plan_read_in_part_is_not_called_stale_by_someone_elses_change() -> None:
    from plutoctl.errors import StalePlanError
    from plutoctl.model import ExistingSite
    from plutoctl.plan.changes.plans import INCOMPLETE_READ, Notice, SitePlan
    from plutoctl.run.apply import check_fresh

    partial = Notice("warning", "enrolments of course C1 were not read", INCOMPLETE_READ)
    site_plan = SitePlan(
        site="lab", fingerprints=(("enrolments:C1", "0" * 64),), notices=(partial,)
    )
    existing = ExistingSite(site="lab", segments={}, users={}, courses={})
    with pytest.raises(StalePlanError) as caught:
        check_fresh(site_plan, existing)
    assert "the plan's read of the site was incomplete" in caught.value.message
    assert "enrolments:C1" in caught.value.message
    assert caught.value.hint is not None and "someone changed" not in caught.value.hint


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('username\n"amelia.hughes\nben.carter\ncarl.diaz\n', 2),
        ('username,cohort1\namelia.hughes,team\nben.carter,"team\ncarl.diaz,team\n', 3),
    ],
)
def test_unclosed_quote_in_csv_is_named_at_its_line(tmp_path, run, text: str, line: int) -> None:
    (tmp_path / "m.csv").write_text(text, encoding="utf-8")
    config = _write(tmp_path, "segments:\n  team:\n    name: Team\n    members_csv: m.csv\n")
    result = run("validate", "-c", str(config))
    assert result.code == 1
    assert f"m.csv:{line}: a quote opened on this line is never closed" in result.err, result.err
    # The rest of the file is not echoed back as one giant "username".
    assert "carl.diaz" not in result.err


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_a_site_that_could_not_be_planned_does_not_say_no_changes(
    sandbox, tmp_path, run, monkeypatch, fmt: str
) -> None:
    monkeypatch.delenv(TOKEN_VAR, raising=False)
    config = write_config(tmp_path, sandbox, seed_users(sandbox.store, 2))
    result = run("plan", "-c", str(config), "--format", fmt)
    assert result.code == 1
    assert "TRIALS" in result.out  # the unset variable is named (escaped in markdown)
    assert "No changes." not in result.out
    assert "Nothing planned: the errors stop this site." in result.out
    assert "Estimated API calls: 0" not in result.out


UNMANAGED = """\
version: 1
sites:
  lab:
    url: {url}
    token: ${{{var}}}
segments:
  kept:
    name: Kept
    members: [user000]
policy:
  unmanaged_segments: {policy}
"""


@pytest.mark.parametrize("policy", ["report", "delete"])
def test_unmanaged_segments_policy_reads_their_members(
    sandbox, tmp_path, run, monkeypatch, policy: str
) -> None:
    names = seed_users(sandbox.store, 3)
    sandbox.store.add_cohort("stray", name="Stray")
    sandbox.store.add_cohort_members("stray", names[:2])
    sandbox.store.add_cohort("stray-empty", name="Stray empty")
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    config = tmp_path / "segments.yaml"
    text = UNMANAGED.format(url=sandbox.url, var=TOKEN_VAR, policy=policy)
    config.write_text(text, encoding="utf-8")

    result = run("plan", "-c", str(config))
    assert "members were not read" not in result.out
    assert "members not read" not in result.out
    if policy == "report":
        assert result.code == 0
        assert "unmanaged segment stray (2 members)" in result.out
        return
    # delete: the empty one goes; the one with members needs its acknowledgement.
    assert result.code == 3, result.out
    assert "- segment stray-empty" in result.out
    assert "--allow-delete stray" in result.out
    applied = run("apply", "-c", str(config), "--auto-approve", "--allow-delete", "stray")
    assert applied.code == 0, applied.out + applied.err
    assert sandbox.store.cohort_members("kept") == {"user000"}
    again = run("plan", "-c", str(config), "--detailed-exitcode")
    assert again.code == 0, again.out


def _sandbox_config(tmp_path: Path, url: str, seed: str | None = None) -> Path:
    site = f"    url: {url}\n" + (f"    seed: {seed}\n" if seed else "")
    path = tmp_path / "sb.yaml"
    path.write_text(
        f"version: 1\nsites:\n  d:\n{site}segments:\n  a:\n    name: A\n", encoding="utf-8"
    )
    return path


@pytest.mark.parametrize("target", ["adir", "users.csv"])
def test_sandbox_url_that_is_no_database_is_a_clear_error(tmp_path, run, target: str) -> None:
    (tmp_path / "adir").mkdir()
    (tmp_path / "users.csv").write_text("username\nann\n", encoding="utf-8")
    config = _sandbox_config(tmp_path, f"sandbox:{target}")
    result = run("plan", "-c", str(config))
    assert result.code == 1
    assert "cannot open the sandbox database" in result.out
    assert target in result.out
    assert (tmp_path / "users.csv").read_text(encoding="utf-8") == "username\nann\n"


def test_seed_file_problems_are_shown_not_just_counted(tmp_path, run) -> None:
    (tmp_path / "seed.csv").write_text("username,firstname\nBad User,x\n", encoding="utf-8")
    config = _sandbox_config(tmp_path, "sandbox:new.db", seed="seed.csv")
    checked = run("validate", "-c", str(config))  # offline: what no site is needed to tell
    assert checked.code == 1
    assert "seed.csv:2: username 'Bad User' is not valid: Moodle usernames hold only" in (
        checked.err
    )
    assert run("plan", "-c", str(config)).code == 1
    # What only loading it tells (the site's roles), at plan time.
    (tmp_path / "seed.csv").write_text(
        "username,course1,role1\nann,C1,student\nbob,C1,nosuchrole\n", encoding="utf-8"
    )
    assert run("validate", "-c", str(config)).code == 0
    result = run("plan", "-c", str(config))
    assert result.code == 1
    assert "seed.csv:3: unknown role 'nosuchrole' in role1" in result.out
    assert not (tmp_path / "new.db").exists()


def test_sandbox_serve_on_a_busy_port_or_bad_db_path_is_a_clear_error(
    sandbox, tmp_path, run
) -> None:
    port = sandbox.url.rsplit(":", 1)[1]
    busy = run("sandbox", "serve", "--port", port)
    assert busy.code == 1
    assert f"127.0.0.1:{port}" in busy.err and "--port" in busy.err
    (tmp_path / "notes.txt").write_text("a file, not a folder", encoding="utf-8")
    # A missing folder is made (as plan and seed make it); one under a file cannot be.
    blocked = run("sandbox", "serve", "--db", str(tmp_path / "notes.txt" / "x.db"))
    assert blocked.code == 1
    assert "cannot open the sandbox database" in blocked.err


def test_export_never_overwrites_the_config_or_its_csv_files(
    sandbox, tmp_path, run, monkeypatch
) -> None:
    names = seed_users(sandbox.store, 60)
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    data = tmp_path / "data"
    data.mkdir()
    roster = data / "big.csv"
    roster.write_text("username\n" + "\n".join(names) + "\n", encoding="utf-8")
    config = tmp_path / "segments.yaml"
    config.write_text(
        f"version: 1\nsites:\n  lab:\n    url: {sandbox.url}\n    token: ${{{TOKEN_VAR}}}\n"
        "segments:\n  big:\n    name: Big\n    members_csv: data/big.csv\n",
        encoding="utf-8",
    )
    assert run("apply", "-c", str(config), "--auto-approve").code == 0
    before = config.read_text(encoding="utf-8")
    kept = roster.read_text(encoding="utf-8")

    result = run("export", "-c", str(config), "--site", "lab", "-o", str(config))
    assert result.code == 1
    assert "would overwrite" in result.err and "segments.yaml" in result.err
    assert config.read_text(encoding="utf-8") == before

    out = tmp_path / "exported.yaml"
    result = run("export", "-c", str(config), "--site", "lab", "-o", str(out), "--csv-dir", "data")
    assert result.code == 1
    assert "would overwrite" in result.err and "big.csv" in result.err
    assert roster.read_text(encoding="utf-8") == kept
    assert not out.exists()


def test_export_to_a_new_folder_creates_it(project, run) -> None:
    config = project / "segments.yaml.example"
    out = project / "new" / "folder" / "site.yaml"
    result = run("export", "-c", str(config), "--site", "demo", "-o", str(out))
    assert result.code == 0, result.err
    assert out.exists()
    assert run("plan", "-c", str(out), "--detailed-exitcode").code == 0


def test_plan_out_and_apply_report_never_overwrite_the_config(project, run) -> None:
    config = project / "segments.yaml.example"
    before = config.read_text(encoding="utf-8")
    planned = run("plan", "-c", str(config), "--out", str(config))
    assert planned.code == 1 and "would overwrite" in planned.err
    applied = run("apply", "-c", str(config), "--auto-approve", "--report", str(config))
    assert applied.code == 1 and "would overwrite" in applied.err
    assert config.read_text(encoding="utf-8") == before
    # Nothing was applied either: the refusal comes before any write.
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 2


def test_apply_report_into_a_new_folder(project, run) -> None:
    config = project / "segments.yaml.example"
    report = project / "reports" / "today" / "apply.json"
    result = run("apply", "-c", str(config), "--auto-approve", "--report", str(report))
    assert result.code == 0, result.err
    assert '"format_version": 1' in report.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "flags",
    [["--only", "new-starters"], ["--except", "dept-sales"], ["--allow-removals", "dept-sales"]],
)
def test_saved_plan_refuses_flags_it_would_ignore(project, run, flags: list[str]) -> None:
    config = project / "segments.yaml.example"
    saved = project / "plan.json"
    assert run("plan", "-c", str(config), "--out", str(saved)).code == 0
    result = run("apply", str(saved), *flags)
    assert result.code == 64
    assert flags[0] in result.err
    assert "plutoctl plan" in result.err
    # Nothing was applied.
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 2


def test_apply_with_an_errored_site_applies_the_others(sandbox, tmp_path, run, monkeypatch) -> None:
    seed_users(sandbox.store, 2)
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    monkeypatch.delenv("PLUTO_TOKEN_UNSET_TRIALS", raising=False)
    config = tmp_path / "segments.yaml"
    config.write_text(
        f"version: 1\nsites:\n  good:\n    url: {sandbox.url}\n    token: ${{{TOKEN_VAR}}}\n"
        f"  broken:\n    url: {sandbox.url}\n    token: ${{PLUTO_TOKEN_UNSET_TRIALS}}\n"
        "segments:\n  team:\n    name: Team\n    members: [user000]\n",
        encoding="utf-8",
    )
    result = run("apply", "-c", str(config), "--auto-approve")
    # Sites are independent: the good one is applied, the broken one reported, exit 1.
    assert result.code == 1
    assert "not applying site(s) broken: the plan has errors there; the other sites go ahead" in (
        result.err
    )
    assert "error: site broken: not applied" in result.err
    assert "PLUTO_TOKEN_UNSET_TRIALS" in result.err
    assert "Sites: good applied; broken not applied." in result.out
    assert sandbox.store.cohort_members("team") == {"user000"}
    assert run("plan", "-c", str(config), "--site", "good", "--detailed-exitcode").code == 0


def test_a_bad_rule_does_not_hide_the_segments_other_problems(tmp_path, run) -> None:
    config = _write(
        tmp_path,
        "segments:\n"
        "  s:\n"
        "    name: S\n"
        "    members_csv: missing.csv\n"
        "    members: [Bad Name]\n"
        "    rules:\n"
        "      - {all: []}\n"
        "      - {field: dept, match: exact}\n",
    )
    result = run("validate", "-c", str(config))
    assert result.code == 1
    assert "segments.s.rules.0.all: should not be empty" in result.err
    assert "segments.s.rules.1.match: match 'exact' needs a value" in result.err
    assert "missing.csv' not found" in result.err
    assert "'Bad Name' is not valid" in result.err


def test_apply_report_lines_say_skipped_once(sandbox, tmp_path, run, monkeypatch) -> None:
    seed_users(sandbox.store, 3)
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    config = tmp_path / "segments.yaml"
    config.write_text(
        f"version: 1\nsites:\n  lab:\n    url: {sandbox.url}\n    token: ${{{TOKEN_VAR}}}\n"
        "segments:\n  team:\n    name: Team\n    members: [user000, user001]\n"
        "courses:\n  LAB101:\n    groups:\n      g:\n        name: G\n        segment: team\n"
        "    enrol:\n      - {segment: team, role: student}\n",
        encoding="utf-8",
    )
    sandbox.faults.inject(kind="status", status=400, function="core_group_create_groups")
    result = run("apply", "-c", str(config), "--auto-approve")
    assert result.code == 4
    skipped = [line for line in result.out.splitlines() if "skipped:" in line]
    assert skipped, result.out
    assert all(line.count("skipped") == 1 for line in skipped), skipped
