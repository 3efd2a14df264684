"""Seeding from a bulk-upload CSV, the generator, and ``open_embedded``."""

from __future__ import annotations

from pathlib import Path

import pytest
from ws_helpers import call

from plutoctl.errors import ConfigError, SandboxError
from plutoctl.sandbox import FieldSpec, Store, generate, open_embedded, seed_csv

CSV = (
    "username,firstname,lastname,email,profile_field_department,profile_field_remote,"
    "course1,role1,group1,cohort1,course2,cohort2\n"
    "jdoe,Jane,Doe,jdoe@example.com,Sales,1,ONB,student,Sales team,dept-sales,LEAD,\n"
    "\n"
    "asmith,Al,Smith,asmith@example.com,HR,0,ONB,editingteacher,,dept-hr,,dept-sales\n"
)


@pytest.mark.parametrize(
    "variant",
    [
        lambda text: text,
        lambda text: "\ufeff" + text.replace("\n", "\r\n"),
        lambda text: text.replace(",", ";"),
    ],
    ids=["plain", "bom-crlf", "semicolon"],
)
def test_seed_csv_loads_everything(tmp_path: Path, variant) -> None:
    path = tmp_path / "users.csv"
    path.write_bytes(variant(CSV).encode())
    store = Store()
    assert seed_csv(store, path) == 2
    assert store.user_count() == 4
    assert store.enrolments("ONB") == {"jdoe": {"student"}, "asmith": {"editingteacher"}}
    assert store.enrolments("LEAD") == {"jdoe": {"student"}}
    assert store.group_members("ONB", "Sales team") == {"jdoe"}
    assert store.groups("ONB")["Sales team"]["name"] == "Sales team"
    assert store.cohort_members("dept-sales") == {"jdoe", "asmith"}
    assert store.cohorts()["dept-hr"]["name"] == "dept-hr"
    with store.transaction() as db:
        types = dict(db.execute("SELECT shortname, datatype FROM user_info_field"))
    assert types == {"department": "text", "remote": "checkbox"}


def test_seed_csv_errors_cite_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("username,course1,role1,group2\nok,C,student,\nBad,C,,\nfine,C,boss,\nx,,,G\n")
    store = Store()
    with pytest.raises(ConfigError) as caught:
        seed_csv(store, path)
    rendered = [p.render() for p in caught.value.problems]
    assert rendered == [
        f"{path}:4: unknown role 'boss' in role1",
        f"{path}:5: group2 needs course2",
    ]
    assert store.user_count() == 2  # rolled back: only guest and admin


def test_seed_csv_stores_usernames_in_lower_case_as_moodles_upload(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text("username,firstname\nJDoe,Jane\n")
    store = Store()
    assert seed_csv(store, path) == 1
    assert store.user_id("jdoe")


@pytest.mark.parametrize(
    ("row", "fields"), [("ben,Ben,Carter, Jr,ben@example.com", 5), ("amy,Amy", 2)]
)
def test_seed_csv_refuses_a_row_of_another_width(tmp_path: Path, row: str, fields: int) -> None:
    path = tmp_path / "users.csv"
    path.write_text(f"username,firstname,lastname,email\nzoe,Zoe,Clarke,z@example.com\n{row}\n")
    with pytest.raises(ConfigError) as caught:
        seed_csv(Store(), path)
    (problem,) = caught.value.problems
    assert problem.render().startswith(
        f"{path}:3: this row has {fields} fields but the header has 4"
    )


def test_seed_csv_takes_empty_fields_past_the_header(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text("username,firstname\nzoe,Zoe,,\n")  # a spreadsheet's empty columns
    assert seed_csv(Store(), path) == 1


def test_seed_csv_needs_a_username_column(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("email\na@example.com\n")
    with pytest.raises(ConfigError):
        seed_csv(Store(), path)


def test_generate_users_courses_cohorts() -> None:
    store = Store()
    generate(
        store, users=500, courses=3, fields=[FieldSpec("department", "menu", ("Sales", "HR"))],
        cohorts=4, members_per_cohort=10, enrolments_per_course=20,
    )  # fmt: skip
    assert store.user_count() == 502
    assert len(store.cohorts()) == 4
    assert len(store.cohort_members("seg-0001")) == 10
    assert len(store.enrolments("COURSE0002")) == 20


def test_generated_profiles_are_readable(sandbox) -> None:
    generate(sandbox.store, users=3, courses=0, fields=[FieldSpec.parse("dept:menu:A|B")])
    users = call(
        sandbox, "core_user_get_users_by_field", {"field": "username", "values": ["user000001"]}
    )
    assert users[0]["customfields"][0]["value"] in {"A", "B"}


@pytest.mark.parametrize("text", ["dept", "dept:colour", "dept:menu", ":text"])
def test_field_spec_rejects_bad_text(text: str) -> None:
    with pytest.raises(SandboxError):
        FieldSpec.parse(text)


def test_open_embedded_seeds_only_a_new_database(tmp_path: Path) -> None:
    csv_path = tmp_path / "users.csv"
    csv_path.write_text(CSV)
    db = tmp_path / "demo.db"
    with open_embedded(db, seed_csv=csv_path) as sb:
        assert sb.store.user_count() == 4
        sb.store.add_user("later")
    csv_path.write_text(CSV.replace("jdoe", "other"))
    with open_embedded(db, seed_csv=csv_path, max_input_vars=500) as sb:
        assert sb.store.user_count() == 5
        assert sb.max_input_vars == 500
        assert call(sb, "core_user_get_users_by_field", {"field": "username", "values": ["later"]})


def test_open_embedded_removes_a_database_whose_seed_failed(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("username,course1,role1\nok,C,boss\n")  # no such role
    db = tmp_path / "demo.db"
    with pytest.raises(ConfigError):
        open_embedded(db, seed_csv=bad)
    assert not db.exists()
