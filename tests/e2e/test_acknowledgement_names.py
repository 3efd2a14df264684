"""An acknowledgement admits exactly one object: a bare ID is a segment, never a group."""

from __future__ import annotations

from pathlib import Path

import pytest

TOKEN_VAR = "PLUTO_TOKEN_ACKS"

CONFIG = """\
version: 1
sites:
  lab:
    url: {url}
    token: ${{{var}}}
segments:
  team:
    name: Team
    members: [{team}]
  seg-x:
    name: X
    members: [{seg_x}]
courses:
  LAB101:
    groups:
      team:
        name: Team group
        segment: seg-x
    enrol:
      - segment: seg-x
        role: student
policy:
  max_removals: 2
"""

USERS = [f"user{i:03d}" for i in range(8)]


def write_config(tmp_path: Path, url: str, team: list[str], seg_x: list[str]) -> Path:
    path = tmp_path / "segments.yaml"
    text = CONFIG.format(url=url, var=TOKEN_VAR, team=", ".join(team), seg_x=", ".join(seg_x))
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def site(sandbox, monkeypatch, tmp_path, run):
    for name in USERS:
        sandbox.store.add_user(name)
    sandbox.store.add_course("LAB101")
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    config = write_config(tmp_path, sandbox.url, USERS, USERS)
    assert run("apply", "-c", str(config), "--auto-approve").code == 0
    return sandbox


def test_a_bare_id_does_not_admit_the_group_that_shares_it(site, tmp_path, run) -> None:
    config = write_config(tmp_path, site.url, USERS, USERS[:2])
    flags = ("--allow-removals", "seg-x", "--allow-removals", "team")
    result = run("apply", "-c", str(config), "--auto-approve", *flags)
    assert result.code == 3, result.out + result.err
    assert "--allow-removals LAB101/team" in result.out
    assert "warning: --allow-removals team matches no change" in result.err
    assert site.store.group_members("LAB101", "team") == set(USERS)
    done = run(
        "apply", "-c", str(config), "--auto-approve", *flags[:2], "--allow-removals", "LAB101/team"
    )
    assert done.code == 0, done.out + done.err
    assert site.store.group_members("LAB101", "team") == set(USERS[:2])
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0


def test_a_bare_id_that_is_both_is_refused_naming_both_forms(site, tmp_path, run) -> None:
    config = write_config(tmp_path, site.url, USERS[:2], USERS[:2])
    flags = ("--allow-removals", "seg-x", "--allow-removals", "team")
    result = run("plan", "-c", str(config), *flags)
    assert result.code == 1
    text = result.out + result.err
    assert "ambiguous" in text and "--allow-removals LAB101/team" in text
    assert site.store.cohort_members("team") == set(USERS)
    # Naming the group as well says both are meant.
    done = run(
        "apply", "-c", str(config), "--auto-approve", *flags, "--allow-removals", "LAB101/team"
    )
    assert done.code == 0, done.out + done.err
    assert site.store.cohort_members("team") == set(USERS[:2])
    assert site.store.group_members("LAB101", "team") == set(USERS[:2])
    assert run("plan", "-c", str(config), "--detailed-exitcode").code == 0


def test_a_refusal_names_no_flag_for_an_id_that_is_two_objects(
    sandbox, tmp_path, run, monkeypatch
) -> None:
    """Segment LAB101/team and group team of LAB101 both lose members past the policy:
    each refusal said "to allow: --allow-removals LAB101/team", a flag then refused as
    ambiguous, so the hint led nowhere."""
    for name in USERS:
        sandbox.store.add_user(name)
    sandbox.store.add_course("LAB101")
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    text = CONFIG.replace("  team:\n    name: Team\n", '  "LAB101/team":\n    name: Team\n')
    config = tmp_path / "segments.yaml"

    def write(team: list[str], seg_x: list[str]) -> None:
        body = text.format(
            url=sandbox.url, var=TOKEN_VAR, team=", ".join(team), seg_x=", ".join(seg_x)
        )
        config.write_text(body, encoding="utf-8")

    write(USERS, USERS)
    assert run("apply", "-c", str(config), "--auto-approve").code == 0
    write(USERS[:2], USERS[:2])
    result = run("plan", "-c", str(config))
    assert result.code == 3, result.out + result.err
    assert "--allow-removals LAB101/team" not in result.out, result.out
    assert "acknowledge: {removals: {LAB101/team" not in result.out
    hint = "LAB101/team names both a group and a segment that this plan changes"
    assert result.out.count(hint) == 2, result.out
    flagged = run("plan", "-c", str(config), "--allow-removals", "LAB101/team")
    assert flagged.code == 1 and "is ambiguous" in flagged.out
