"""unknown_users: error | warn: users HR lists before their account exists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TOKEN_VAR = "PLUTO_TOKEN_HR"

CONFIG = """\
version: 1
sites:
  lab:
    url: {url}
    token: ${{{var}}}
{defaults}segments:
  staff:
    name: Staff
    members_csv: hr.csv
{policy}  other:
    name: Other
    members: [ann]
"""


def write(tmp_path: Path, sb, *, policy: str = "", defaults: str = "") -> Path:
    (tmp_path / "hr.csv").write_text(
        "username,cohort1\nann,staff\nnewstarter,staff\nbob,staff\nlater,staff\n",
        encoding="utf-8",
    )
    path = tmp_path / "segments.yaml"
    path.write_text(
        CONFIG.format(url=sb.url, var=TOKEN_VAR, policy=policy, defaults=defaults),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def site(sandbox, monkeypatch):
    for name in ("ann", "bob"):
        sandbox.store.add_user(name, firstname="U", lastname=name)
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    return sandbox


def test_by_default_an_unknown_user_stops_the_site(site, tmp_path, run) -> None:
    config = write(tmp_path, site)
    result = run("plan", "-c", str(config))
    assert result.code == 1
    assert "unknown user 'newstarter' on site 'lab'" in result.out + result.err


@pytest.mark.parametrize(
    ("policy", "defaults"),
    [("    unknown_users: warn\n", ""), ("", "defaults:\n  unknown_users: warn\n")],
    ids=["per-segment", "default"],
)
def test_warn_lists_unknown_users_and_plans_the_rest(
    site, tmp_path, run, policy: str, defaults: str
) -> None:
    config = write(tmp_path, site, policy=policy, defaults=defaults)
    result = run("plan", "-c", str(config), "--detailed-exitcode")
    assert result.code == 2, result.out + result.err
    csv = str(tmp_path / "hr.csv")
    assert "segment staff: 2 users not on site 'lab', left out (unknown_users: warn)" in result.out
    assert f"'newstarter' (members_csv, {csv}:3)" in result.out
    assert f"'later' (members_csv, {csv}:5)" in result.out
    assert "ann, bob" in result.out  # the known users are planned

    report = tmp_path / "plan.json"
    assert run("plan", "-c", str(config), "--out", str(report)).code == 0
    notices = json.loads(report.read_text())["sites"][0]["notices"]
    assert any("'newstarter'" in n["message"] for n in notices)
    html = run("plan", "-c", str(config), "--format", "html")
    assert "newstarter" in html.out
    # A pull-request comment names no user unless asked to (--show-members): the
    # notice says where the name is, so a reviewer can look it up.
    markdown = run("plan", "-c", str(config), "--format", "markdown")
    assert "newstarter" not in markdown.out
    assert "\\(a user\\) \\(members\\_csv, " in markdown.out  # Markdown escapes ( and _
    shown = run("plan", "-c", str(config), "--format", "markdown", "--show-members")
    assert "newstarter" in shown.out

    applied = run("apply", "-c", str(config), "--auto-approve")
    assert applied.code == 0, applied.err
    assert site.store.cohort_members("staff") == {"ann", "bob"}
    again = run("plan", "-c", str(config), "--detailed-exitcode")
    assert again.code == 0, again.out
    assert "newstarter" in again.out  # still listed until the account exists


def test_per_segment_error_overrides_a_warn_default(site, tmp_path, run) -> None:
    config = write(
        tmp_path,
        site,
        policy="    unknown_users: error\n",
        defaults="defaults:\n  unknown_users: warn\n",
    )
    assert run("plan", "-c", str(config)).code == 1


@pytest.mark.parametrize("policy", ["", "    unknown_users: warn\n"], ids=["error", "warn"])
def test_a_file_of_another_sites_users_is_listed_up_to_twenty_and_counted(
    site, tmp_path, run, policy: str
) -> None:
    """A members file of 5,000 users the site lacks: 20 named, the rest counted."""
    config = write(tmp_path, site, policy=policy)
    rows = "".join(f"elsewhere{i},staff\n" for i in range(5000))
    (tmp_path / "hr.csv").write_text("username,cohort1\nann,staff\n" + rows, encoding="utf-8")
    result = run("plan", "-c", str(config), "--out", str(tmp_path / "plan.json"))
    shown = result.out + result.err
    assert len(shown) < 10_000, shown[:2_000]  # first: a diff of 300 kB takes minutes
    assert "'elsewhere19'" in shown and "'elsewhere20'" not in shown
    csv = tmp_path / "hr.csv"
    if policy:
        assert result.code == 0, shown
        assert "segment staff: 5,000 users not on site 'lab'" in shown
        assert ", and 4,980 more" in shown
    else:
        assert result.code == 1, shown
        assert shown.count("unknown user 'elsewhere") == 20
        # What to do, said once for the segment, with its first unknown user.
        assert shown.count("check the spelling; for a list that names people before") == 1
        assert "(members_csv of staff) (check the spelling;" in shown
        assert (
            f"and 4,980 more of the users segment staff names, as above, not listed "
            f"(the next at {csv}:23)"
        ) in shown
