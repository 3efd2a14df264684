"""Export round trips, and multi-site runs where one site fails."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

TOKEN_VAR = "PLUTO_TOKEN_EXPORT"


def seed_site(store) -> None:
    store.add_profile_field("department", "menu", options=["Sales", "HR"])
    for i in range(80):
        store.add_user(f"u{i:02d}", firstname="U", lastname=str(i))
    store.add_course("LAB101")
    for i in range(10):
        store.enrol(f"u{i:02d}", "LAB101")
    store.add_cohort("big", "Big segment", description="All of them")
    store.add_cohort_members("big", [f"u{i:02d}" for i in range(80)])
    store.add_cohort("small", "Small & hidden", visible=False)
    store.add_cohort_members("small", ["u01", "u02"])
    store.add_cohort("no", "A segment ID YAML would read as false")
    store.add_group("LAB101", "Group one", idnumber="g1", description="first")
    store.add_group_members("LAB101", "g1", ["u01", "u03"])
    store.add_group("LAB101", "No idnumber")


@pytest.fixture
def source(sandbox, tmp_path: Path, monkeypatch) -> Path:
    seed_site(sandbox.store)
    monkeypatch.setenv(TOKEN_VAR, sandbox.token)
    path = tmp_path / "source.yaml"
    path.write_text(
        f"version: 1\nsites:\n  lab:\n    url: {sandbox.url}\n    token: ${{{TOKEN_VAR}}}\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    "extra",
    [[], ["--no-members"], ["--csv-dir", "members"]],
    ids=["members-inline", "no-members", "csv-dir"],
)
def test_export_plans_clean(source: Path, tmp_path: Path, run, extra: list[str]) -> None:
    out = tmp_path / "exported" / "segments.yaml"
    out.parent.mkdir()
    result = run(
        "export", "-c", str(source), "--site", "lab", "--course", "LAB101", "-o", str(out), *extra
    )
    assert result.code == 0, result.err
    assert "No idnumber" in result.err  # the group without an idnumber is named as skipped
    exported = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert sorted(exported["segments"]) == ["big", "no", "small"]
    assert exported["segments"]["small"]["visible"] is False
    if extra == ["--csv-dir", "members"]:
        assert exported["segments"]["big"]["members_csv"] == "members/big.csv"
        assert (out.parent / "members" / "big.csv").read_text().startswith("username\n")
    assert run("validate", "-c", str(out)).code == 0
    plan = run("plan", "-c", str(out), "--detailed-exitcode")
    assert plan.code == 0, plan.out + plan.err
    assert "No changes." in plan.out


def test_csv_files_stay_in_their_directory_whatever_the_site_names_a_segment(
    sandbox, source: Path, tmp_path: Path, run
) -> None:
    """A segment ID is chosen by whoever creates the segment on the site: it must not
    choose where the export writes."""
    members = [f"u{i:02d}" for i in range(60)]
    for idnumber in ("../../escaped", "a/b", "Big"):  # Big: only its case differs from big
        sandbox.store.add_cohort(idnumber, idnumber)
        sandbox.store.add_cohort_members(idnumber, members)
    out = tmp_path / "exported" / "segments.yaml"
    result = run("export", "-c", str(source), "--site", "lab", "-o", str(out), "--csv-dir", "m")
    assert result.code == 0, result.err
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.csv"))
    assert written == [
        "exported/m/Big.csv",
        "exported/m/_.._escaped.csv",
        "exported/m/a_b.csv",
        "exported/m/big-2.csv",
    ]
    exported = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert exported["segments"]["../../escaped"]["members_csv"] == "m/_.._escaped.csv"
    plan = run("plan", "-c", str(out), "--detailed-exitcode")
    assert plan.code == 0, plan.out + plan.err


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--csv-dir", ""),
        ("--csv-dir", "  "),
        ("--segments-csv", ""),
        ("--segments-csv", "csvs/"),
        ("--segments-csv", "segments.yaml"),  # the --out file itself
        ("--segments-csv", "./segments.yaml"),
        ("--segments-csv", "."),  # the output's directory
    ],
)
def test_csv_paths_that_name_no_file_of_their_own_are_refused_before_writing(
    source: Path, tmp_path: Path, run, flag: str, value: str
) -> None:
    """An empty --csv-dir wrote the members CSVs at the root of the file system; a
    segments CSV named as the output was overwritten by it, losing every definition."""
    out = tmp_path / "exported" / "segments.yaml"
    out.parent.mkdir()
    result = run("export", "-c", str(source), "--site", "lab", "-o", str(out), flag, value)
    assert result.code == 64, result.out + result.err
    assert flag in result.err and "hint:" in result.err
    assert sorted(tmp_path.rglob("*")) == [out.parent, tmp_path / "source.yaml"]


def test_segments_without_an_id_are_named_as_skipped(
    sandbox, source: Path, tmp_path: Path, run
) -> None:
    """An admin bringing a site under plutoctl learns which segments the export left out."""
    sandbox.store.add_cohort("", "Made in the form, no ID")
    out = tmp_path / "segments.yaml"
    result = run("export", "-c", str(source), "--site", "lab", "-o", str(out))
    assert result.code == 0, result.err
    assert "1 segment(s) without a segment ID (idnumber)" in result.err
    assert "'Made in the form, no ID'" in result.err
    assert run("plan", "-c", str(out), "--detailed-exitcode").code == 0


def test_the_export_counts_the_segments_it_wrote(
    sandbox, source: Path, tmp_path: Path, run
) -> None:
    sandbox.store.add_cohort(" padded", "Padded ID")  # skipped: it would not validate
    out = tmp_path / "segments.yaml"
    result = run("export", "-c", str(source), "--site", "lab", "-o", str(out))
    assert result.code == 0, result.err
    assert f"Wrote {out} (3 segments, 0 CSV files)." in result.err


def test_export_skips_with_a_warning_what_would_not_validate(
    sandbox, source: Path, tmp_path: Path, run
) -> None:
    store = sandbox.store
    store.add_cohort(" padded", "Padded ID")
    store.add_user("o'brien x", firstname="O", lastname="B")  # extendedusernamechars
    store.add_cohort("odd-names", "Odd names")
    store.add_cohort_members("odd-names", ["u01", "o'brien x"])
    store.add_cohort("two-lines", "Two\nlines")
    store.add_group("LAB101", "<i>Tagged</i>", idnumber="tagged")
    out = tmp_path / "exported" / "segments.yaml"
    args = ["export", "-c", str(source), "--site", "lab", "--course", "LAB101", "-o", str(out)]
    result = run(*args, "--segments-csv", "segments.csv")
    assert result.code == 0, result.err
    assert "skipped segment ' padded': the segment ID has leading or trailing spaces" in (
        result.err
    )
    assert "skipped the members of segment 'odd-names'" in result.err
    assert "skipped group 'tagged' in LAB101: the name holds an HTML tag" in result.err
    exported = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert exported["segments"]["two-lines"] == {"name": "Two\nlines", "members": []}
    assert "odd-names" not in exported["segments"]  # defined in the CSV, members unmanaged
    assert run("validate", "-c", str(out)).code == 0
    plan = run("plan", "-c", str(out), "--detailed-exitcode")
    assert plan.code == 0, plan.out + plan.err


@pytest.mark.parametrize(
    "function", ["core_cohort_get_cohort_members", "core_user_get_users_by_field"]
)
def test_export_of_an_incomplete_read_writes_nothing(
    sandbox, source: Path, tmp_path: Path, run, monkeypatch, function: str
) -> None:
    """Planned, an export missing members would remove them: a failed read exports nothing."""
    monkeypatch.setenv("PLUTOCTL_RETRY_BACKOFF", "0")
    sandbox.faults.inject(kind="status", status=500, function=function)
    out = tmp_path / "exported" / "segments.yaml"
    result = run("export", "-c", str(source), "--site", "lab", "-o", str(out))
    assert result.code == 1, result.out + result.err
    assert "site 'lab': the read was incomplete" in result.err
    assert "nothing was written" in result.err
    assert not out.exists()


def test_an_export_stopped_by_a_shared_segment_id_says_how_to_mend_it(
    sandbox, source: Path, tmp_path: Path, run
) -> None:
    """Reading again cannot help: two cohorts hold the ID until one is given another."""
    sandbox.store.add_cohort("twin", "Twin")
    with sandbox.store.transaction() as db:
        db.execute("UPDATE cohort SET idnumber = 'small' WHERE idnumber = 'twin'")
    result = run("export", "-c", str(source), "--site", "lab", "-o", str(tmp_path / "e.yaml"))
    assert result.code == 1
    assert "give each cohort its own segment ID on the site (shared: 'small')" in result.err
    assert "run the export again" not in result.err


def test_export_to_stdout_is_sorted_and_stable(source: Path, run) -> None:
    first = run("export", "-c", str(source), "--site", "lab")
    second = run("export", "-c", str(source), "--site", "lab")
    assert first.code == 0 and first.out == second.out
    members = yaml.safe_load(first.out)["segments"]["big"]["members"]
    assert members == sorted(members)


def test_one_failing_site_does_not_stop_the_others(sandbox, tmp_path: Path, run, monkeypatch):
    sandbox.store.add_user("alice", firstname="A", lastname="L")
    monkeypatch.setenv("PLUTO_TOKEN_GOOD", sandbox.token)
    monkeypatch.setenv("PLUTO_TOKEN_BAD", "0" * 32)
    config = tmp_path / "segments.yaml"
    config.write_text(
        f"""\
version: 1
sites:
  good:
    url: {sandbox.url}
    token: ${{PLUTO_TOKEN_GOOD}}
  bad:
    url: {sandbox.url}
    token: ${{PLUTO_TOKEN_BAD}}
segments:
  team:
    name: Team
    members: [alice]
""",
        encoding="utf-8",
    )
    plan = run("plan", "-c", str(config))
    assert plan.code == 1
    assert "site good:" in plan.out and "+ segment team" in plan.out
    assert "invalidtoken" in plan.out + plan.err
    applied = run("apply", "-c", str(config), "--auto-approve", "--site", "good")
    assert applied.code == 0, applied.out + applied.err
    assert sandbox.store.cohort_members("team") == {"alice"}
    assert run("plan", "-c", str(config), "--site", "good", "--detailed-exitcode").code == 0


def test_export_of_an_unknown_course_is_an_error(source: Path, run) -> None:
    result = run("export", "-c", str(source), "--site", "lab", "--course", "NOPE")
    assert result.code == 1
    assert "NOPE: no course with this short name" in result.err
    assert result.out == ""


def test_a_members_csv_never_takes_the_segments_csv_name(
    sandbox, source: Path, tmp_path: Path, run
) -> None:
    sandbox.store.add_cohort("segments", "Named like the segments CSV")
    sandbox.store.add_cohort_members("segments", [f"u{i:02d}" for i in range(60)])
    out = tmp_path / "exported" / "site.yaml"
    result = run(
        "export", "-c", str(source), "--site", "lab", "-o", str(out),
        "--csv-dir", "data", "--segments-csv", "data/segments.csv",
    )  # fmt: skip
    assert result.code == 0, result.err
    exported = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert exported["segments"]["segments"]["members_csv"] == "data/segments-2.csv"
    definitions = (out.parent / "data" / "segments.csv").read_text(encoding="utf-8")
    assert definitions.startswith("name,idnumber,description,visible")
    plan = run("plan", "-c", str(out), "--detailed-exitcode")
    assert plan.code == 0, plan.out + plan.err


@pytest.mark.parametrize("char", ["\x85", "\u2028", "\u2029"])
def test_a_name_holding_a_yaml_line_break_round_trips(
    sandbox, source: Path, tmp_path: Path, run, char: str
) -> None:
    sandbox.store.add_cohort("emea", f"Sales{char}EMEA", description=f"one{char}two")
    out = tmp_path / "site.yaml"
    assert run("export", "-c", str(source), "--site", "lab", "-o", str(out)).code == 0
    plan = run("plan", "-c", str(out), "--detailed-exitcode")
    assert plan.code == 0, plan.out + plan.err


def test_a_printed_export_of_a_sandbox_site_plans_clean_wherever_it_is_saved(
    project: Path, run, monkeypatch
) -> None:
    """Printed, the config is saved where the shell puts it: a sandbox path relative to
    the working directory made a plan of it open a new, empty sandbox."""
    config = project / "examples" / "single-site" / "segments.yaml"
    assert run("apply", "-c", str(config), "--auto-approve").code == 0
    monkeypatch.chdir(project)
    printed = run("export", "-c", str(config), "--site", "local")
    assert printed.code == 0, printed.err
    saved = project / "elsewhere" / "exported.yaml"
    saved.parent.mkdir()
    saved.write_text(printed.out, encoding="utf-8")
    plan = run("plan", "-c", str(saved), "--detailed-exitcode")
    assert plan.code == 0, plan.out + plan.err
    assert "No changes." in plan.out
