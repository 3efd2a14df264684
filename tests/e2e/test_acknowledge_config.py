"""The config's acknowledge: section: bounded, exact, recorded in the saved plan,
re-checked on apply, named when unused, ignored by --no-acknowledgements."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TOKEN_VAR = "PLUTO_TOKEN_ACK"
SALES = [f"s{i:02d}" for i in range(10)]


@pytest.fixture
def site(sandbox, monkeypatch):
    for name in [*SALES, "x1"]:
        sandbox.store.add_user(name, firstname="U", lastname=name)
    sandbox.store.add_cohort("dept-sales", "Sales")
    sandbox.store.add_cohort_members("dept-sales", SALES)
    sandbox.store.add_cohort("old", "Old")
    sandbox.store.add_cohort_members("old", ["x1"])
    sandbox.store.add_course("C1")
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    return sandbox


def write(tmp_path: Path, site, members: list[str], acknowledge: str = "") -> Path:
    path = tmp_path / "segments.yaml"
    path.write_text(
        f"version: 1\nsites:\n  lab:\n    url: {site.url}\n    token: ${{{TOKEN_VAR}}}\n"
        f"segments:\n  dept-sales:\n    name: Sales\n    members: [{', '.join(members)}]\n"
        "  dept-hr:\n    name: HR\n    members: []\n"
        "courses:\n  C1:\n    groups:\n      dept-sales:\n        name: G\n"
        "policy:\n  max_removals: 25%\n  unmanaged_segments: delete\n" + acknowledge,
        encoding="utf-8",
    )
    return path


def test_bounded_removal_is_admitted_and_recorded(tmp_path: Path, site, run) -> None:
    ack = "acknowledge:\n  removals: {dept-sales: 4}\n  deletes: [old]\n"
    config = write(tmp_path, site, SALES[:6], ack)
    out = tmp_path / "plan.json"
    result = run("plan", "-c", str(config), "--out", str(out))
    assert result.code == 0, result.out + result.err
    assert "allowed by acknowledge.removals dept-sales: 4" in result.out
    saved = json.loads(out.read_text())
    recorded = saved["sites"][0]["acknowledged"]
    assert {a["by"] for a in recorded} == {
        "acknowledge.removals dept-sales: 4",
        "acknowledge.deletes old",
    }
    applied = run("apply", str(out), "-c", str(config))
    assert applied.code == 0, applied.err
    assert site.store.cohort_members("dept-sales") == set(SALES[:6])
    again = run("plan", "-c", str(config), "--detailed-exitcode")
    assert again.code == 0, again.out
    assert "acknowledge.removals dept-sales matches nothing in this plan" in again.out
    assert "acknowledge.deletes old matches nothing" in again.out


def test_a_count_is_a_bound_not_a_licence(tmp_path: Path, site, run) -> None:
    config = write(tmp_path, site, SALES[:5], "acknowledge:\n  removals: {dept-sales: 4}\n")
    result = run("plan", "-c", str(config), "--only", "dept-sales")
    assert result.code == 3
    assert "acknowledge.removals dept-sales: 4 allows 4" in result.out
    assert "acknowledge.removals dept-sales: 5" in result.out  # what would allow it


def test_a_group_idnumber_does_not_admit_the_segment(tmp_path: Path, site, run) -> None:
    config = write(tmp_path, site, SALES[:6], "acknowledge:\n  removals: {C1/dept-sales: 4}\n")
    result = run("plan", "-c", str(config))
    assert result.code == 3, result.out
    assert "- 4 members of dept-sales (of 10)" in result.out  # refused
    assert "acknowledge.removals C1/dept-sales matches nothing" in result.out


def test_drift_ignores_the_section(tmp_path: Path, site, run) -> None:
    config = write(tmp_path, site, SALES[:6], "acknowledge:\n  removals: {dept-sales: 4}\n")
    result = run("plan", "-c", str(config), "--only", "dept-sales", "--no-acknowledgements")
    assert result.code == 3
    assert "matches nothing" not in result.out


def test_apply_rechecks_against_the_config_now(tmp_path: Path, site, run) -> None:
    config = write(tmp_path, site, SALES[:6], "acknowledge:\n  removals: {dept-sales: 4}\n")
    out = tmp_path / "plan.json"
    assert run("plan", "-c", str(config), "--only", "dept-sales", "--out", str(out)).code == 0
    write(tmp_path, site, SALES[:6], "acknowledge:\n  removals: {dept-sales: 3}\n")
    refused = run("apply", str(out), "-c", str(config))
    assert refused.code == 3, refused.err
    assert "no acknowledgement admits now" in refused.err
    assert "acknowledge.removals allows 3" in refused.err
    assert site.store.cohort_members("dept-sales") == set(SALES)  # nothing removed


def test_flags_still_work_and_are_recorded(tmp_path: Path, site, run) -> None:
    config = write(tmp_path, site, SALES[:6])
    out = tmp_path / "plan.json"
    result = run(
        "plan", "-c", str(config), "--only", "dept-sales", "--allow-removals", "dept-sales",
        "--out", str(out),
    )  # fmt: skip
    assert result.code == 0, result.out
    (ack,) = json.loads(out.read_text())["sites"][0]["acknowledged"]
    assert ack["by"] == "--allow-removals dept-sales"
    assert run("apply", str(out), "-c", str(config)).code == 0


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("acknowledge:\n  removals: {dept-sales: 0}\n", "dept-sales: should be at least 1"),
        (
            "acknowledge:\n  removals: {nope: 3}\n",
            "nope is not a segment or course the config declares",
        ),
        ("acknowledge:\n  removals: {C1/nope: 3}\n", "C1/nope is not a group the config"),
    ],
)
def test_bad_acknowledgements_are_config_errors(
    tmp_path: Path, site, run, section: str, message: str
) -> None:
    config = write(tmp_path, site, SALES, section)
    result = run("validate", "-c", str(config))
    assert result.code != 0 and message in result.err, result.err


def test_a_bare_group_idnumber_is_refused_with_its_full_name(tmp_path: Path, site, run) -> None:
    path = write(tmp_path, site, SALES, "acknowledge:\n  deletes: [g1]\n")
    path.write_text(
        path.read_text().replace("      dept-sales:\n        name: G", "      g1:\n        name: G")
    )
    result = run("validate", "-c", str(path))
    assert result.code != 0 and "write C1/g1" in result.err, result.err


@pytest.mark.parametrize(
    ("fmt", "heading"),
    [("markdown", "✅ Acknowledged in review"), ("html", "<h3>Acknowledged in review (1)</h3>")],
)
def test_reports_show_what_was_acknowledged(tmp_path: Path, site, run, fmt, heading) -> None:
    config = write(tmp_path, site, SALES[:6], "acknowledge:\n  removals: {dept-sales: 4}\n")
    result = run("plan", "-c", str(config), "--only", "dept-sales", "--format", fmt)
    assert result.code == 0, result.err
    assert heading in result.out and "acknowledge.removals dept-sales: 4" in result.out


def test_a_course_name_bounds_its_unenrolments(tmp_path: Path, site, run) -> None:
    for name in SALES:
        site.store.enrol(name, "C1")
    ack = "acknowledge:\n  removals: {{C1: {count}, dept-sales: 6}}\n  deletes: [old]\n"
    entry = "    enrol:\n      - {segment: dept-sales, role: student, unenrol: true}\n"

    def config(count: int) -> Path:
        path = write(tmp_path, site, SALES, ack.format(count=count))
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("        name: G\n", "        name: G\n" + entry), "utf-8")
        return path

    # Six of C1's ten students leave dept-sales: past 25%, and past a count of 5.
    path = config(5)
    checked = run("validate", "-c", str(path))
    assert checked.code == 0, checked.err  # a declared course may be named
    path.write_text(path.read_text().replace(", ".join(SALES), ", ".join(SALES[:4])), "utf-8")
    refused = run("plan", "-c", str(path))
    assert refused.code == 3
    assert "unenrol 6 users from C1" in refused.out
    assert "to allow: acknowledge.removals C1: 6" in refused.out

    path.write_text(path.read_text().replace("C1: 5", "C1: 6"), "utf-8")
    out = tmp_path / "plan.json"
    planned = run("plan", "-c", str(path), "--out", str(out))
    assert planned.code == 0, planned.out + planned.err
    assert "allowed by acknowledge.removals C1: 6" in planned.out
    assert run("apply", str(out), "-c", str(path)).code == 0
    assert set(site.store.enrolments("C1")) == set(SALES[:4])
    again = run("plan", "-c", str(path), "--detailed-exitcode")
    assert again.code == 0, again.out


TWO_SITES = """\
version: 1
sites:
  s1: {{url: "sandbox:s1.db", seed: users.csv}}
  s2: {{url: "sandbox:s2.db", seed: users.csv}}
segments:
  sales: {{name: Sales, sites: [s1], members: [u1]}}
  hr: {{name: HR, sites: [s2], members: [u2]}}
acknowledge:
  removals: {{sales: 3, hr: 2}}
{extra}"""


@pytest.mark.parametrize("scope", [["--site", "s2"], ["--only", "hr"], ["--except", "sales"]])
def test_a_plan_of_part_of_the_config_calls_no_entry_unused(tmp_path, run, monkeypatch, scope):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "users.csv").write_text("username,firstname,lastname,email\n" + "".join(
        f"u{i},U,{i},u{i}@example.com\n" for i in (1, 2)
    ), encoding="utf-8")  # fmt: skip
    (tmp_path / "segments.yaml").write_text(TWO_SITES.format(extra=""), encoding="utf-8")
    part = run("plan", "-c", "segments.yaml", *scope)
    assert part.code == 0, part.out + part.err
    assert "matches nothing" not in part.out + part.err
    whole = run("plan", "-c", "segments.yaml")
    assert "acknowledge.removals hr matches nothing in this plan" in whole.out
    assert "acknowledge.removals sales matches nothing in this plan" in whole.out


def test_a_flag_is_not_called_unused_on_a_site_stopped_by_errors(tmp_path: Path, site, run) -> None:
    config = write(tmp_path, site, [*SALES[:6], "nobody"])  # 'nobody' is not on the site
    result = run("plan", "-c", str(config), "--allow-removals", "dept-sales")
    assert result.code == 1
    assert "matches no change in this plan" not in result.err


NARROWED = """\
version: 1
sites:
  s1: {{url: "sandbox:s1.db", seed: users.csv}}
  s2: {{url: "sandbox:s2.db", seed: users.csv}}
policy: {{unmanaged_segments: {policy}}}
segments:
  small: {{name: Small, sites: [{sites}], members: []}}
"""


def test_a_segment_narrowed_to_fewer_sites_is_unmanaged_on_the_others(tmp_path, run, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "users.csv").write_text("username,firstname,lastname,email\n", encoding="utf-8")
    config = tmp_path / "segments.yaml"
    config.write_text(NARROWED.format(policy="delete", sites="s1, s2"), encoding="utf-8")
    assert run("apply", "-c", "segments.yaml", "--auto-approve").code == 0

    config.write_text(NARROWED.format(policy="report", sites="s2"), encoding="utf-8")
    reported = run("plan", "-c", "segments.yaml")
    assert "unmanaged segment small (0 members)" in reported.out  # on s1

    config.write_text(NARROWED.format(policy="delete", sites="s2"), encoding="utf-8")
    assert run("plan", "-c", "segments.yaml", "--out", "plan.json").code == 0
    applied = run("apply", "plan.json")  # the saved plan's recompute agrees
    assert applied.code == 0, applied.out + applied.err
    assert run("plan", "-c", "segments.yaml", "--detailed-exitcode").code == 0


def test_an_entry_for_removals_held_back_behind_a_refusal_is_not_called_unused(
    tmp_path: Path, site, run
) -> None:
    """The group's removals wait on the segment's refused ones: its entry is needed once
    the segment's is raised, and the plan told the reviewer to delete it."""
    for name in SALES:
        site.store.enrol(name, "C1")
    site.store.add_group("C1", "G", idnumber="dept-sales")
    site.store.add_group_members("C1", "dept-sales", SALES)
    ack = "acknowledge:\n  removals: {dept-sales: 4, C1/dept-sales: 5}\n  deletes: [old]\n"
    config = write(tmp_path, site, SALES[:5], ack)
    text = config.read_text(encoding="utf-8").replace(
        "name: G\n", "name: G\n        segment: dept-sales\n"
    )
    config.write_text(text, encoding="utf-8")
    result = run("plan", "-c", str(config))
    assert result.code == 3, result.out
    assert "kept 5 users in C1/dept-sales" in result.out  # held back behind the refusal
    assert "C1/dept-sales matches nothing" not in result.out
    config.write_text(text.replace("dept-sales: 4", "dept-sales: 5"), encoding="utf-8")
    planned = run("plan", "-c", str(config))
    assert planned.code == 0, planned.out
    assert "allowed by acknowledge.removals C1/dept-sales: 5" in planned.out


ACK = "acknowledge:\n  removals: {{dept-sales: 6{}}}\n  deletes: [old]\n"


def test_a_refused_unenrolment_suggests_the_entry_for_the_course_s_total(
    tmp_path: Path, site, run
) -> None:
    """Each owned role's unenrolments are a change of their own, and the course's limit
    is on their total: the suggested entry counts all of them. No entry was suggested."""
    for name in SALES:
        site.store.enrol(name, "C1", "student" if name < "s05" else "teacher")
    entries = (
        "    enrol:\n      - {segment: dept-sales, role: student, unenrol: true}\n"
        "      - {segment: dept-sales, role: teacher, unenrol: true}\n"
    )
    path = write(tmp_path, site, SALES[:2] + SALES[5:7], ACK.format(""))
    text = path.read_text(encoding="utf-8").replace(
        "        name: G\n", "        name: G\n" + entries
    )
    path.write_text(text, "utf-8")
    refused = run("plan", "-c", str(path))
    assert refused.code == 3, refused.out + refused.err
    assert "unenrol 3 users from C1" in refused.out  # of each role
    suggested = "acknowledge: {removals: {C1: 6}}"
    assert refused.out.count(f"or, reviewed in the config: {suggested}") == 2, refused.out
    markdown = run("plan", "-c", str(path), "--format", "markdown")
    assert f"or in the config: `{suggested}`" in markdown.out
    path.write_text(text.replace(ACK.format(""), ACK.format(", C1: 6")), "utf-8")
    planned = run("plan", "-c", str(path))
    assert planned.code == 0, planned.out + planned.err
    assert "allowed by acknowledge.removals C1: 6" in planned.out
