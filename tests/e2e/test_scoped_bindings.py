"""A run scoped away from a segment (``--only COURSE``, ``--except SEGMENT``) still gives
the courses that bind it the segment's desired members, not the members it has now."""

from __future__ import annotations

import pytest

USERS = """\
username,firstname,lastname,email,course1,role1
u1,U,One,u1@example.com,C1,student
u2,U,Two,u2@example.com,C1,student
u4,U,Four,u4@example.com,C1,student
u5,U,Five,u5@example.com,,
"""

CONFIG = """\
version: 1
sites:
  s1:
    url: sandbox:s1.db
    seed: users.csv
segments:
  hr:
    name: HR
    members: [{members}]
courses:
  C1:
    groups:
      g-hr: {{name: HR group, segment: hr}}
    enrol:
      - {{segment: hr, role: student, unenrol: {unenrol}}}
policy:
  max_removals: 100%
"""


@pytest.mark.parametrize("scope", [["--only", "C1"], ["--except", "hr"]])
def test_a_course_follows_the_desired_members_of_a_segment_left_out(
    tmp_path, run, monkeypatch, scope
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "users.csv").write_text(USERS, encoding="utf-8")
    config = tmp_path / "segments.yaml"
    config.write_text(CONFIG.format(members="u4, u5", unenrol="false"), encoding="utf-8")
    assert run("apply", "-c", "segments.yaml", "--auto-approve").code == 0

    # u1 joins hr and the entry takes over unenrolment; the course is applied on its own.
    config.write_text(CONFIG.format(members="u1, u4, u5", unenrol="true"), encoding="utf-8")
    scoped = run("plan", "-c", "segments.yaml", *scope)
    assert (
        "- unenrol 1 user from C1 (enrol entry of segment hr): u2\n" in scoped.out
    )  # u2 only, not u1
    assert "+ 1 member of group C1/g-hr: u1\n" in scoped.out
    assert "members of hr" not in scoped.out  # the segment itself is left out
    assert run("apply", "-c", "segments.yaml", "--auto-approve", *scope).code == 0

    # The whole run then adds u1 to the segment only, and the next plan is empty.
    whole = run("plan", "-c", "segments.yaml")
    assert "+ 1 member of hr: u1\n" in whole.out
    assert "enrol" not in whole.out and "group" not in whole.out
    assert run("apply", "-c", "segments.yaml", "--auto-approve").code == 0
    final = run("plan", "-c", "segments.yaml", "--detailed-exitcode")
    assert final.code == 0, final.out


def test_a_course_binding_a_segment_not_yet_on_the_site_follows_its_desired_members(
    tmp_path, run, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "users.csv").write_text(USERS, encoding="utf-8")
    (tmp_path / "segments.yaml").write_text(
        CONFIG.format(members="u1, u4", unenrol="true"), "utf-8"
    )
    scoped = run("plan", "-c", "segments.yaml", "--only", "C1")
    assert "unknown" not in scoped.out + scoped.err
    assert "- unenrol 1 user from C1 (enrol entry of segment hr): u2\n" in scoped.out
    assert "+ 2 members of group C1/g-hr: u1, u4\n" in scoped.out
    assert run("apply", "-c", "segments.yaml", "--auto-approve", "--only", "C1").code == 0
    assert run("apply", "-c", "segments.yaml", "--auto-approve").code == 0
    final = run("plan", "-c", "segments.yaml", "--detailed-exitcode")
    assert final.code == 0, final.out


LEAVERS_CONFIG = """\
version: 1
sites:
  s1: {{url: "sandbox:s1.db", seed: users.csv}}
segments:
  team: {{name: Team, members: [{members}]}}
courses:
  C1:
    groups:
      g: {{name: G, segment: team}}
    enrol:
      - {{segment: team, role: student, unenrol: true}}
policy:
  max_removals: 25%
"""


@pytest.mark.parametrize("scope", [["--only", "C1"], ["--except", "team"]])
def test_a_run_leaving_out_a_segment_takes_nobody_out_of_its_courses_ahead_of_it(
    tmp_path, run, monkeypatch, scope
):
    """Half of team leaves in the config: refused for the segment (past max_removals), so
    a run of the course alone must not unenrol them or drop them from the group."""
    monkeypatch.chdir(tmp_path)
    users = ["username,firstname,lastname,email,course1,role1"]
    users += [f"u{i},U,{i},u{i}@example.com,C1,student" for i in range(8)]
    (tmp_path / "users.csv").write_text("\n".join(users) + "\n", encoding="utf-8")
    config = tmp_path / "segments.yaml"
    everyone = ", ".join(f"u{i}" for i in range(8))
    config.write_text(LEAVERS_CONFIG.format(members=everyone), encoding="utf-8")
    assert run("apply", "-c", "segments.yaml", "--auto-approve").code == 0

    config.write_text(LEAVERS_CONFIG.format(members="u0, u1, u2, u3"), encoding="utf-8")
    assert run("plan", "-c", "segments.yaml").code == 3  # the segment's removal: refused
    scoped = run("plan", "-c", "segments.yaml", "--detailed-exitcode", *scope)
    assert scoped.code == 0, scoped.out
    assert "unenrol" not in scoped.out and "members of group" not in scoped.out
    assert "kept 4 members of team in the groups and enrolments bound to it" in scoped.out

    # Acknowledged in a whole run, the segment, the group and the course follow together.
    whole = run("apply", "-c", "segments.yaml", "--auto-approve", "--allow-removals", "team",
                "--allow-removals", "C1/g", "--allow-removals", "C1")  # fmt: skip
    assert whole.code == 0, whole.out + whole.err
    final = run("plan", "-c", "segments.yaml", "--detailed-exitcode")
    assert final.code == 0, final.out
