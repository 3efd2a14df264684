"""End to end against the sandbox answering as the recorded Moodle 4.5 site does."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

TOKEN_VAR = "PLUTO_TOKEN_RECORDED"

CONFIG = """\
version: 1
sites:
  lab:
    url: {url}
    token: ${{{var}}}
segments:
  {segment_id}:
    name: {segment_name}
    members: [u1, u2, u3]
courses:
  LAB101:
    groups:
      grp-ghost:
        name: {group_name}
        segment: {segment_id}
    enrol:
      - segment: {segment_id}
        role: student
"""


def write_config(
    tmp_path: Path, url: str, *, segment_id: str = "team", name: str = "Team", group: str = "Ghost"
) -> Path:
    path = tmp_path / "segments.yaml"
    text = CONFIG.format(
        url=url, var=TOKEN_VAR, segment_id=segment_id, segment_name=name, group_name=group
    )
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def lab(sandbox, monkeypatch):
    for n in range(1, 5):
        sandbox.store.add_user(f"u{n}")
    sandbox.store.add_course("LAB101")
    sandbox.store.add_group("LAB101", "Existing", idnumber="grp-x")
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    return sandbox


def roll_back_a_group_create(sb) -> None:
    """Make 'Ghost' in a batch that then fails: Moodle keeps listing the group."""
    data = [
        ("wstoken", sb.token),
        ("wsfunction", "core_group_create_groups"),
        ("moodlewsrestformat", "json"),
    ]
    for i, (name, idnumber) in enumerate([("Ghost", "grp-ghost"), ("Clash", "grp-x")]):
        data += [
            (f"groups[{i}][courseid]", "2"),
            (f"groups[{i}][name]", name),
            (f"groups[{i}][description]", ""),
            (f"groups[{i}][idnumber]", idnumber),
        ]
    answer = requests.post(sb.endpoint, data=data, timeout=10).json()
    assert answer["errorcode"] == "idnumbertaken"


def test_a_group_listed_but_rolled_back_is_reported_and_the_next_apply_converges(
    lab, tmp_path, run
) -> None:
    roll_back_a_group_create(lab)
    config = write_config(tmp_path, lab.url)
    planned = run("plan", "-c", str(config))
    assert planned.code in (0, 2), planned.err
    assert "does not exist" in planned.out + planned.err
    assert "Ghost" in planned.out + planned.err
    applied = run("apply", "-c", str(config), "--auto-approve")
    assert applied.code == 0, applied.err + applied.out
    assert lab.store.group_members("LAB101", "grp-ghost") == {"u1", "u2", "u3"}
    again = run("plan", "-c", str(config), "--detailed-exitcode")
    assert again.code == 0, again.out + again.err


def test_names_and_ids_at_the_sites_column_limits_apply_and_one_more_is_refused(
    lab, tmp_path, run
) -> None:
    longest = write_config(tmp_path, lab.url, segment_id="s" * 100, name="N" * 254, group="G" * 254)
    applied = run("apply", "-c", str(longest), "--auto-approve")
    assert applied.code == 0, applied.err + applied.out
    assert lab.store.cohorts()["s" * 100]["name"] == "N" * 254
    assert run("plan", "-c", str(longest), "--detailed-exitcode").code == 0
    too_long = write_config(
        tmp_path, lab.url, segment_id="t" * 101, name="N" * 255, group="G" * 255
    )
    refused = run("validate", "-c", str(too_long))
    assert refused.code != 0
    text = refused.out + refused.err
    assert f"{too_long}:" in text  # file:line:col for each
    assert "longer than 100 characters" in text
    assert text.count("longer than 254 characters") == 2
    assert lab.log.count("core_cohort_create_cohorts") == 1  # validate sent nothing
