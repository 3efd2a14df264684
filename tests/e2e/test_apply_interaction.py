"""Apply's confirmation on a terminal, and its exit code when operations fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TOKEN_VAR = "PLUTO_TOKEN_APPLY"

CONFIG = """\
version: 1
sites:
  lab:
    url: {url}
    token: ${{{var}}}
segments:
  team:
    name: Team
    members: [ann, bob]
  crew:
    name: Crew
    members: [ann]
courses:
  LAB101:
    groups:
      g1: {{name: Group one, segment: team}}
"""


@pytest.fixture
def config(sandbox, tmp_path: Path, monkeypatch) -> Path:
    for name in ("ann", "bob", "cat"):
        sandbox.store.add_user(name, firstname=name, lastname="L")
    sandbox.store.add_course("LAB101")
    sandbox.store.enrol("ann", "LAB101")
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    path = tmp_path / "segments.yaml"
    path.write_text(CONFIG.format(url=sandbox.url, var=TOKEN_VAR), encoding="utf-8")
    return path


def apply_on_terminal(
    config: Path, answer: bytes, token: str, *args: str
) -> subprocess.CompletedProcess:
    """Run ``plutoctl apply ARGS…`` with a pseudo-terminal as stdin and type ``answer``."""
    controller, terminal = os.openpty()
    try:
        os.write(controller, answer)
        return subprocess.run(
            [sys.executable, "-m", "plutoctl", "apply", "-c", str(config), *args],
            stdin=terminal,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, TOKEN_VAR: token, "NO_COLOR": "1"},
        )
    finally:
        os.close(controller)
        os.close(terminal)


def test_yes_on_a_terminal_applies(config: Path, sandbox, run) -> None:
    done = apply_on_terminal(config, b"yes\n", sandbox.token)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Apply these changes?" in done.stdout
    assert sandbox.store.cohort_members("team") == {"ann", "bob"}
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0


def test_anything_but_yes_changes_nothing(config: Path, sandbox) -> None:
    done = apply_on_terminal(config, b"y\n", sandbox.token)
    assert done.returncode == 1
    assert "cancelled" in done.stderr
    assert "team" not in sandbox.store.cohorts()


def test_failed_operations_exit_4_skip_removals_then_finish(
    config: Path, sandbox, run, tmp_path: Path
) -> None:
    sandbox.store.add_cohort("crew", "Crew")
    sandbox.store.add_cohort_members("crew", ["ann", "cat"])
    sandbox.faults.inject(kind="status", status=500, function="core_group_add_group_members")
    report = tmp_path / "report.json"
    failed = run(
        "apply",
        "-c",
        str(config),
        "--auto-approve",
        "--allow-removals",
        "crew",
        "--report",
        str(report),
    )
    assert failed.code == 4, failed.out + failed.err
    data = json.loads(report.read_text(encoding="utf-8"))
    site = data["sites"][0]["report"]
    assert site["failed"] and site["skipped"]
    assert sandbox.token not in report.read_text(encoding="utf-8")
    # The removal of cat from crew was skipped because something failed first.
    assert sandbox.store.cohort_members("crew") == {"ann", "cat"}
    assert sandbox.store.cohort_members("team") == {"ann", "bob"}
    sandbox.faults.clear()
    again = run("apply", "-c", str(config), "--auto-approve", "--allow-removals", "crew")
    assert again.code == 0, again.out + again.err
    assert sandbox.store.cohort_members("crew") == {"ann"}
    assert sandbox.store.group_members("LAB101", "g1") == {"ann"}
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0


def test_ctrl_d_at_the_prompt_is_a_no(config: Path, sandbox) -> None:
    no = apply_on_terminal(config, b"no\n", sandbox.token)
    eof = apply_on_terminal(config, b"\x04", sandbox.token)
    assert eof.returncode == no.returncode == 1, eof.stderr
    assert eof.stderr == no.stderr == "error: apply cancelled; nothing was changed\n"
    assert eof.stdout.endswith("Apply these changes? Only 'yes' is accepted: \n")
    assert "team" not in sandbox.store.cohorts()


def test_a_saved_plan_partly_applied_says_to_make_a_new_plan(
    config: Path, sandbox, run, tmp_path: Path
) -> None:
    """Once partly applied, a saved plan no longer matches the site: applying it again
    is refused, so its skipped items and the refusal point to a new plan."""
    sandbox.store.add_cohort("crew", "Crew")
    sandbox.store.add_cohort_members("crew", ["ann", "cat"])
    plan = tmp_path / "plan.json"
    assert run("plan", "-c", str(config), "--allow-removals", "crew", "--out", str(plan)).code == 0
    sandbox.faults.inject(kind="status", status=500, function="core_group_add_group_members")
    failed = run("apply", str(plan))
    assert failed.code == 4, failed.out + failed.err
    assert "skipped: remove segment members crew (1): something failed earlier on this site; " in (
        failed.out
    )
    assert "for a saved plan: make a new plan and apply it" in failed.out
    sandbox.faults.clear()
    stale = run("apply", str(plan))
    assert stale.code == 1, stale.out + stale.err
    assert "the plan is stale" in stale.err
    assert "by someone, or by a partial apply of this plan" in stale.err
    assert "someone changed the site meanwhile" not in stale.err
    assert run("plan", "-c", str(config), "--allow-removals", "crew", "--out", str(plan)).code == 0
    assert run("apply", str(plan)).code == 0
    assert sandbox.store.cohort_members("crew") == {"ann"}
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0


def test_a_closed_stdin_is_refused_like_no_terminal(config: Path, sandbox) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "plutoctl", "apply", "-c", str(config)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, TOKEN_VAR: sandbox.token},
        preexec_fn=lambda: os.close(0),  # as `plutoctl apply <&-` runs it: no stdin at all
    )
    assert done.returncode == 1, done.stderr
    assert "there is no terminal to ask on" in done.stderr
    assert "team" not in sandbox.store.cohorts()


@pytest.mark.parametrize(
    ("stdin", "reason"),
    [
        (b"no\n", "apply cancelled; nothing was changed"),
        (b"\x04", "apply cancelled; nothing was changed"),  # Ctrl-D (EOF) is a no
        (None, "apply needs confirmation, and there is no terminal to ask on"),
    ],
    ids=["declined", "ctrl-d", "no terminal"],
)
def test_the_report_is_written_when_apply_is_not_confirmed(
    config: Path, sandbox, tmp_path: Path, stdin: bytes | None, reason: str
) -> None:
    """An older run's report must not survive an apply that stopped at the prompt."""
    report = tmp_path / "report.json"
    report.write_text('{"format_version": 1, "sites": [{"site": "old"}]}', encoding="utf-8")
    args = ("--report", str(report))
    if stdin is None:
        done = subprocess.run(
            [sys.executable, "-m", "plutoctl", "apply", "-c", str(config), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, TOKEN_VAR: sandbox.token},
        )
    else:
        done = apply_on_terminal(config, stdin, sandbox.token, *args)
    assert done.returncode == 1, done.stderr
    assert reason in done.stderr
    assert report_of(report) == {
        "lab": {
            "site": "lab",
            "success": False,
            "error": f"not applied: {reason}",
            "report": None,
            "verify": [],
        }
    }
    assert "team" not in sandbox.store.cohorts()


def test_a_saved_plan_refuses_a_site_it_was_not_made_for(
    config: Path, sandbox, run, tmp_path: Path
) -> None:
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("sites:\n", "sites:\n  emea: {url: 'sandbox:emea.db'}\n"))
    plan = tmp_path / "plan.json"
    assert run("plan", "-c", str(config), "--site", "lab", "--out", str(plan)).code == 0
    refused = run("apply", str(plan), "--site", "emea")
    assert refused.code == 64
    assert "the plan has no site emea: it was made for lab" in refused.err
    unknown = run("apply", str(plan), "--site", "apac")
    assert unknown.code == 64
    assert "unknown site(s): apac" in unknown.err
    assert "team" not in sandbox.store.cohorts()


@pytest.mark.parametrize("where", ["the plan file", "a folder that cannot be made"])
def test_a_report_that_cannot_be_written_is_refused_before_applying(
    config: Path, sandbox, run, tmp_path: Path, where: str
) -> None:
    plan = tmp_path / "plan.json"
    assert run("plan", "-c", str(config), "--out", str(plan)).code == 0
    saved = plan.read_bytes()
    (tmp_path / "file").write_text("a file, not a folder")
    report = plan if where == "the plan file" else tmp_path / "file" / "report.json"
    refused = run("apply", str(plan), "--report", str(report))
    assert refused.code == 1
    assert "nothing was" in refused.err
    assert plan.read_bytes() == saved
    assert "team" not in sandbox.store.cohorts()
    assert run("apply", str(plan)).code == 0
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0


def test_a_plan_file_that_cannot_be_written_is_refused_before_the_sites_are_read(
    config: Path, sandbox, run, tmp_path: Path
) -> None:
    """The whole plan was read and printed, then the save failed."""
    (tmp_path / "file").write_text("a file, not a folder")
    out = tmp_path / "file" / "plan.json"  # its folder cannot be made
    sandbox.log.clear()
    refused = run("plan", "-c", str(config), "--out", str(out))
    assert refused.code == 1
    assert f"--out {out} cannot be written" in refused.err and "nothing was read" in refused.err
    assert refused.out == ""
    assert sandbox.log.count("core_webservice_get_site_info") == 0


def test_a_directory_named_for_a_file_is_a_problem_not_a_usage_error(
    config: Path, sandbox, run, tmp_path: Path
) -> None:
    """Exit 1 and plutoctl's own message, as for any file it cannot use (docs/safety.md)."""
    folder = tmp_path / "folder"
    folder.mkdir()
    sandbox.log.clear()
    for args, message in [
        (("apply", str(folder)), f"cannot read the plan {folder}: it is a directory"),
        (("plan", "-c", str(config), "--out", str(folder)), f"--out {folder} cannot be written"),
        (("apply", "-c", str(config), "--auto-approve", "--report", str(folder)), "--report"),
    ]:
        refused = run(*args)
        assert (refused.code, refused.out) == (1, ""), refused.err
        assert message in refused.err
    assert sandbox.log.count("core_webservice_get_site_info") == 0
    assert "team" not in sandbox.store.cohorts()
    assert run("apply", "-c", str(config), "--auto-approve").code == 0
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0


def report_of(path: Path) -> dict[str, object]:
    return {s["site"]: s for s in json.loads(path.read_text(encoding="utf-8"))["sites"]}


def test_the_report_is_written_when_nothing_is_applied(
    config: Path, sandbox, run, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    assert run("apply", "-c", str(config), "--auto-approve", "--report", str(report)).code == 0
    assert report_of(report)["lab"]["report"]["done"]  # type: ignore[index]

    # In sync: the report says the site had nothing to do (not the last run's report).
    assert run("apply", "-c", str(config), "--auto-approve", "--report", str(report)).code == 0
    assert report_of(report) == {
        "lab": {"site": "lab", "success": True, "error": None, "report": None, "verify": []}
    }

    # Refused: the report says nothing was applied, and why.
    text = config.read_text(encoding="utf-8").replace("members: [ann, bob]", "members: []")
    config.write_text(text, encoding="utf-8")
    refused = run("apply", "-c", str(config), "--auto-approve", "--report", str(report))
    assert refused.code == 3
    entry = report_of(report)["lab"]
    assert entry["report"] is None
    assert "refused as unsafe; nothing was applied" in str(entry["error"])


def test_the_report_of_a_stale_saved_plan_says_it_was_not_applied(
    config: Path, sandbox, run, tmp_path: Path
) -> None:
    plan, report = tmp_path / "plan.json", tmp_path / "report.json"
    assert run("plan", "-c", str(config), "--out", str(plan)).code == 0
    config.write_text(config.read_text(encoding="utf-8").replace("[ann]", "[ann, cat]"), "utf-8")
    stale = run("apply", str(plan), "--report", str(report))
    assert stale.code == 1
    entry = report_of(report)["lab"]
    assert entry["report"] is None
    assert str(entry["error"]).startswith("not applied: ")
    assert "team" not in sandbox.store.cohorts()


def test_apply_that_verification_finds_incomplete_exits_4(make_sandbox, tmp_path, run, monkeypatch):
    """A site whose real max_input_vars is below the config's drops the variables past
    it, answering as if all were sent: verification finds the members missing."""
    sandbox = make_sandbox(max_input_vars=51)  # 12 whole members kept, the rest dropped
    names = [f"u{i:02d}" for i in range(40)]
    for name in names:
        sandbox.store.add_user(name, firstname="U", lastname=name)
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    config = tmp_path / "segments.yaml"
    config.write_text(
        f"version: 1\nsites:\n  lab:\n    url: {sandbox.url}\n    token: ${{{TOKEN_VAR}}}\n"
        f"segments:\n  team:\n    name: Team\n    members: [{', '.join(names)}]\n",
        encoding="utf-8",
    )
    report = tmp_path / "report.json"
    applied = run("apply", "-c", str(config), "--auto-approve", "--report", str(report))
    assert applied.code == 4, applied.out + applied.err
    assert "verify: " in applied.out
    assert "the site does not hold all that apply reported done" in applied.err
    (entry,) = json.loads(report.read_text(encoding="utf-8"))["sites"]
    assert entry["success"] is False and entry["verify"]
    assert len(sandbox.store.cohort_members("team")) < len(names)


def test_apply_of_a_single_site_with_errors_speaks_of_no_other_sites(config, run) -> None:
    config.write_text(config.read_text().replace("[ann, bob]", "[ann, nobody]"), "utf-8")
    result = run("apply", "-c", str(config), "--auto-approve")
    assert result.code == 1
    assert "Nothing to apply.\n" in result.out
    assert "other sites" not in result.out
    assert "error: not applying site(s) lab: the plan has errors there\n" in result.err
    assert "other sites" not in result.err


def test_a_saved_plan_applies_the_sites_picked_when_another_is_refused(
    project: Path, run, tmp_path: Path
) -> None:
    """The refusal hint names ``--site`` flags for the healthy sites: a saved plan with
    them applies those sites, instead of being refused for the site left out."""
    config = project / "examples" / "multi-site" / "segments.yaml"
    assert run("apply", "-c", str(config), "--auto-approve").code == 0
    text = config.read_text(encoding="utf-8")
    text = text.replace("    name: Support\n", "    name: Support team\n")  # primary: an update
    text = text.replace("value: [Paris, Berlin, Madrid]", "value: [Paris]")  # emea: refused
    config.write_text(text, encoding="utf-8")
    saved = tmp_path / "plan.json"
    planned = run("plan", "-c", str(config), "--out", str(saved))
    assert planned.code == 3, planned.out + planned.err
    # Saying the plan is refused, plan names the route that applies the other site.
    assert f"`plutoctl apply {saved} --site primary` applies the sites without" in planned.err
    whole = run("apply", str(saved))
    assert whole.code == 3
    assert "add --site primary" in whole.err
    report = tmp_path / "report.json"
    picked = run("apply", str(saved), "--site", "primary", "--report", str(report))
    assert picked.code == 0, picked.out + picked.err
    assert "not applying" not in picked.err
    sites = json.loads(report.read_text(encoding="utf-8"))["sites"]
    assert [(s["site"], s["success"]) for s in sites] == [("primary", True)]
    assert run("plan", "-c", str(config), "--site", "primary", "--detailed-exitcode").code == 0
    assert run("plan", "-c", str(config), "--site", "emea").code == 3  # still refused there


def test_apply_exits_as_plan_does_when_one_site_errs_and_another_is_refused(
    project: Path, run, tmp_path: Path
) -> None:
    config = project / "examples" / "multi-site" / "segments.yaml"
    assert run("apply", "-c", str(config), "--auto-approve").code == 0
    text = config.read_text(encoding="utf-8")
    text = text.replace("    name: Support\n", "    name: Support\n    members: [ghost.user]\n")
    text = text.replace("value: [Paris, Berlin, Madrid]", "value: [Paris]")  # emea: refused
    config.write_text(text, encoding="utf-8")
    saved = tmp_path / "plan.json"
    planned = run("plan", "-c", str(config), "--out", str(saved))
    assert planned.code == 1, planned.out + planned.err
    applied = run("apply", "-c", str(config), "--auto-approve")
    assert applied.code == planned.code, applied.err
    assert "refused as unsafe" in applied.err and "errors on site(s) primary" in applied.err
    assert run("apply", str(saved)).code == planned.code
