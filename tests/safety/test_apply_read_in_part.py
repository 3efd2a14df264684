"""Apply when a read fails in part: the plan's, or the one before applying a saved plan.
Neither is called a success, nor someone's change; the next apply finishes the work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hostile_http import Answer, serve

from plutoctl.cli import main
from plutoctl.errors import ExitCode
from plutoctl.sandbox import Sandbox

TOKEN_VAR = "PLUTO_TOKEN_PART"
MEMBERS = "core_cohort_get_cohort_members"

CONFIG = """\
version: 1
sites:
  lab:
    url: {url}
    token: ${{{var}}}
segments:
  team-a:
    name: Team A
    members: [ann, bob]
  team-b:
    name: Team B
    members: [cid]
"""


@pytest.fixture
def lab(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    for name in ("ann", "bob", "cid"):
        sandbox.store.add_user(name, firstname=name, lastname="L")
    sandbox.store.add_cohort("team-a", "Team A")
    sandbox.store.add_cohort_members("team-a", ["ann"])
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    return sandbox


def write_config(tmp_path: Path, url: str) -> Path:
    config = tmp_path / "segments.yaml"
    config.write_text(CONFIG.format(url=url, var=TOKEN_VAR), encoding="utf-8")
    return config


def test_a_failed_read_before_applying_a_saved_plan_is_not_called_someone_s_change(
    lab: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "plan.json"
    with serve(lab.url) as proxy:
        config = write_config(tmp_path, proxy.url)
        assert main(["plan", "-c", str(config), "--out", str(saved)]) == 0
        proxy.script(MEMBERS, lambda _form: Answer(500, b"down"))
        code = main(["apply", str(saved)])
        _, err = capsys.readouterr()
        assert code == ExitCode.ERROR
        assert "the read before applying failed in part" in err, err
        assert "someone changed" not in err
        assert lab.store.cohort_members("team-a") == {"ann"}  # nothing applied
        proxy.script(MEMBERS, lambda _form: None)  # the site answers again: the plan holds
        assert main(["apply", str(saved)]) == 0
    assert lab.store.cohort_members("team-a") == {"ann", "bob"}


def test_an_apply_whose_plan_read_the_site_in_part_is_no_success(
    lab: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What could not be read was not planned: the site may not match the config."""
    report = tmp_path / "report.json"

    with serve(lab.url) as proxy:
        config = write_config(tmp_path, proxy.url)
        proxy.script(MEMBERS, lambda _form: Answer(500, b"down"))  # team-a's
        code = main(["apply", "-c", str(config), "--auto-approve", "--report", str(report)])
    out, err = capsys.readouterr()
    assert code == ExitCode.ERROR, out + err
    assert "error: site lab: read in part" in err
    [site] = json.loads(report.read_text(encoding="utf-8"))["sites"]
    assert site["success"] is False and "read in part" in site["error"]
    assert lab.store.cohort_members("team-b") == {"cid"}  # what was read was applied
    config = write_config(tmp_path, lab.url)
    assert main(["apply", "-c", str(config), "--auto-approve"]) == 0
    assert main(["plan", "-c", str(config), "--detailed-exitcode"]) == 0


COURSE_CONFIG = """\
version: 1
sites:
  lab:
    url: {url}
    token: ${{{var}}}
segments:
  team-a:
    name: Team A
    members: [ann]
courses:
  C1:
    groups:
      g1:
        name: G1
        segment: team-a
{enrol}policy:
  max_removals: 100%
"""
ENROL = "    enrol:\n      - segment: team-a\n        unenrol: true\n"
FAILED_READ = {
    "exception": "dml_read_exception",
    "errorcode": "dmlreadexception",
    "message": "Error reading from database",
}


@pytest.mark.parametrize("saved", [False, True], ids=["apply", "saved-plan"])
@pytest.mark.parametrize(
    ("function", "removal"),
    [("core_group_get_group_members", "group"), ("core_enrol_get_enrolled_users", "unenrol")],
)
def test_a_removal_whose_re_read_failed_is_not_called_applied_before(
    lab: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    function: str,
    removal: str,
    saved: bool,
) -> None:
    """An unread course's groups or enrolments read as empty: every removal of them
    looked already made, so apply said "applied before", exit 0, and removed nothing."""
    store = lab.store
    store.add_course("C1")
    for name in ("ann", "bob"):
        store.enrol(name, "C1")
    store.add_group("C1", "G1", "g1")
    store.add_group_members("C1", "g1", ["ann"] if removal == "unenrol" else ["ann", "bob"])
    config = tmp_path / "segments.yaml"
    enrol = ENROL if removal == "unenrol" else ""
    text = COURSE_CONFIG.format(url="{url}", var=TOKEN_VAR, enrol=enrol)
    plan = tmp_path / "plan.json"
    report = tmp_path / "report.json"
    with serve(lab.url) as proxy:
        config.write_text(text.replace("{url}", proxy.url), encoding="utf-8")
        if saved:
            assert main(["plan", "-c", str(config), "--out", str(plan)]) == 0
        reads: list[int] = []

        def fail_after_the_plan(_form: dict[str, str]) -> Answer | None:
            reads.append(1)
            return None if len(reads) == 1 and not saved else Answer.json(FAILED_READ)

        proxy.script(function, fail_after_the_plan)
        args = [str(plan)] if saved else ["-c", str(config), "--auto-approve"]
        code = main(["apply", *args, "--report", str(report)])
    out, err = capsys.readouterr()
    assert code == ExitCode.ERROR, out + err
    assert "applied before" not in out + err
    assert "dmlreadexception" in out + err
    assert f"({function}): Error reading from database [dmlreadexception]" in err, err
    assert "enrolments of course C1, page 1" in err or removal == "group"
    assert "site lab: not applied: site 'lab'" not in err
    [site] = json.loads(report.read_text(encoding="utf-8"))["sites"]
    assert site["success"] is False
    assert store.group_members("C1", "g1") == {"ann", "bob"} or removal == "unenrol"
    assert set(store.enrolments("C1")) == {"ann", "bob"}
    config.write_text(text.replace("{url}", lab.url), encoding="utf-8")
    assert main(["apply", "-c", str(config), "--auto-approve"]) == 0
    assert store.group_members("C1", "g1") == {"ann"}
    assert set(store.enrolments("C1")) == ({"ann"} if removal == "unenrol" else {"ann", "bob"})
    assert main(["plan", "-c", str(config), "--detailed-exitcode"]) == 0
