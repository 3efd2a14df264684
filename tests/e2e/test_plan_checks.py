"""Plan-time checks of what apply would fail on: roles, and rule fields the site lacks."""

from __future__ import annotations

from pathlib import Path

import pytest

TOKEN_VAR = "PLUTO_TOKEN_CHECKS"

HEAD = """\
version: 1
sites:
  lab:
    url: {url}
    token: ${{{var}}}
{site_extra}"""


@pytest.fixture
def site(sandbox, monkeypatch):
    store = sandbox.store
    store.add_profile_field("faculty")
    store.add_profile_field("mentor")  # exists, but nobody has a value yet
    store.add_profile_field("is_staff", type="checkbox")
    store.add_user("admin2", firstname="A", lastname="Dmin")
    store.add_user("ann", firstname="A", lastname="Nn", custom={"faculty": "Arts", "is_staff": "1"})
    store.add_user("bob", firstname="B", lastname="Ob", custom={"faculty": "Law", "is_staff": "0"})
    store.add_course("LAB101")
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    return sandbox


def write(tmp_path: Path, sb, body: str, site_extra: str = "") -> Path:
    path = tmp_path / "segments.yaml"
    path.write_text(
        HEAD.format(url=sb.url, var=TOKEN_VAR, site_extra=site_extra) + body, encoding="utf-8"
    )
    return path


ENROL = """\
segments:
  team: {{name: Team, members: [ann]}}
courses:
  LAB101:
    groups:
      g1: {{name: G1, segment: team}}
    enrol:
      - {{segment: team, role: {role}}}
"""


@pytest.mark.parametrize(
    ("role", "hint"),
    [
        ("studnet", "did you mean 'student'?"),
        ("tutor", "roles: editingteacher, manager, student, teacher"),
    ],
    ids=["typo", "no-such-role"],
)
def test_a_role_plutoctl_does_not_enrol_with_is_a_config_error(
    site, tmp_path, run, role, hint
) -> None:
    config = write(tmp_path, site, ENROL.format(role=role))
    for command in ("validate", "plan"):
        result = run(command, "-c", str(config))
        assert result.code == 1, result.out
        assert f"{config}:13:" in result.err  # the role's own line
        assert f"courses.LAB101.enrol.0.role: plutoctl does not enrol with role {role!r}" in (
            result.err
        )
        assert hint in result.err
    assert run("apply", "-c", str(config), "--auto-approve").code == 1
    assert site.log.count("core_cohort_create_cohorts") == 0


RULE = """\
segments:
  faculty-members:
    name: F
    rules:
      - {{field: {field}, match: {match}, value: {value}}}
"""


def test_a_rule_on_a_field_the_site_lacks_is_an_error_with_did_you_mean(
    site, tmp_path, run
) -> None:
    config = write(tmp_path, site, RULE.format(field="facluty", match="notexact", value="Law"))
    result = run("plan", "-c", str(config))
    assert result.code == 1, result.out
    assert "profile field 'facluty'" in result.out
    assert "did you mean 'faculty'?" in result.out
    assert "profile_fields" in result.out
    assert "admin2" not in result.out  # nothing planned: the rule matched everyone before


def test_a_field_nobody_has_filled_in_is_an_error_until_declared(site, tmp_path, run) -> None:
    body = RULE.format(field="mentor", match="notempty", value="null")
    refused = run("plan", "-c", str(write(tmp_path, site, body)))
    assert refused.code == 1
    assert "profile field 'mentor'" in refused.out

    declared = write(tmp_path, site, body, site_extra="    profile_fields: [mentor]\n")
    result = run("plan", "-c", str(declared), "--detailed-exitcode")
    assert result.code == 2, result.out  # nobody has a mentor yet: an empty segment to create
    assert "+ segment faculty-members" in result.out
    assert "+0 / −0 members" in result.out
    assert run("apply", "-c", str(declared), "--auto-approve").code == 0
    assert run("plan", "-c", str(declared), "--detailed-exitcode").code == 0


def test_a_declared_field_nobody_has_filled_in_is_checked_as_text(site, tmp_path, run) -> None:
    """Its unquoted true was taken silently as "1", though users later typing "true"
    into the field would not match; the same rule on a filled text field is an error."""
    body = RULE.format(field="mentor", match="exact", value="true")
    declared = write(tmp_path, site, body, site_extra="    profile_fields: [mentor]\n")
    result = run("plan", "-c", str(declared))
    assert result.code == 1, result.out
    assert "'mentor' is a text field, but its value is written as true or false" in result.out
    quoted = write(
        tmp_path, site, body.replace("true", '"true"'), site_extra="    profile_fields: [mentor]\n"
    )
    assert run("plan", "-c", str(quoted)).code == 0


@pytest.mark.parametrize(
    ("match", "value"), [("contains", "1"), ("notempty", "null")], ids=["contains", "notempty"]
)
def test_a_checkbox_field_with_a_text_match_is_an_error(site, tmp_path, run, match, value) -> None:
    config = write(tmp_path, site, RULE.format(field="is_staff", match=match, value=value))
    result = run("plan", "-c", str(config))
    assert result.code == 1, result.out
    assert f"a checkbox field like 'is_staff' cannot take match {match!r}" in result.out
