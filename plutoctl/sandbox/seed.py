"""Filling a sandbox: from a Pluto bulk-upload-users CSV, or generated at scale.

``seed_csv`` loads the bulk-upload-users format (docs/sandbox.md, "The seed CSV"),
read and checked by ``plutoctl.config.bulk_users``:
``username, firstname, lastname, email, profile_field_<name>…, courseN, roleN, groupN,
cohortN``. Like Moodle's upload tool (admin/tool/uploaduser) it creates cohorts and
groups that do not exist yet; unlike it, it also creates missing courses, because a
new sandbox has none. A user that already exists is updated, not duplicated.
Problems are collected and raised together, each citing ``file:line``.

``generate`` bulk-loads synthetic users, courses, cohorts and enrolments with
``executemany`` for benchmarks and scale tests.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from plutoctl.config.bulk_users import BulkRow, indexes, read_bulk_users, row_problem
from plutoctl.errors import ConfigError, Position, Problem, SandboxError
from plutoctl.sandbox.rows import create_course, enrol_user
from plutoctl.sandbox.schema import FIELD_TYPES
from plutoctl.sandbox.store import Store

PROFILE_PREFIX = "profile_field_"
FIRST_NAMES = ("Alice", "Bob", "Carol", "Dan", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy")
LAST_NAMES = ("Smith", "Jones", "Brown", "Taylor", "Wilson", "Evans", "Thomas", "Roberts")


@dataclass(frozen=True)
class FieldSpec:
    """A custom profile field to create: shortname, type and (for menus) options."""

    shortname: str
    type: str = "text"
    options: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, text: str) -> FieldSpec:
        """Parse ``name:type[:opt1|opt2…]`` (the CLI's ``--field`` syntax)."""
        parts = text.split(":", 2)
        if len(parts) < 2 or parts[1] not in FIELD_TYPES or not parts[0]:
            raise SandboxError(
                f"bad field {text!r}; use NAME:TYPE[:OPTION|OPTION…], TYPE one of "
                f"{', '.join(FIELD_TYPES)}"
            )
        options = tuple(parts[2].split("|")) if len(parts) == 3 else ()
        if parts[1] == "menu" and not options:
            raise SandboxError(f"menu field {parts[0]!r} needs options: NAME:menu:A|B|C")
        return cls(parts[0], parts[1], options)


# --- CSV -------------------------------------------------------------------------


def seed_csv(store: Store, path: str | Path) -> int:
    """Load users, profile fields, courses, enrolments, groups and cohorts from a CSV.

    Returns the number of rows loaded. Raises ConfigError listing every bad row.
    """
    csv_path = Path(path)
    rows = read_bulk_users(csv_path, str(csv_path))
    problems: list[Problem] = []
    with store.transaction() as db:
        fields = _ensure_fields(db, rows)
        for row in rows:
            try:
                _load_row(db, row, fields)
            except SandboxError as exc:
                problems.append(Problem(Position(str(csv_path), row.line), exc.message))
        if problems:
            raise ConfigError(problems, where="the seed CSV")
    return len(rows)


def _ensure_fields(db: sqlite3.Connection, rows: Sequence[BulkRow]) -> dict[str, int]:
    columns = {name for row in rows for name in row.values if name.startswith(PROFILE_PREFIX)}
    existing = {r[0]: r[1] for r in db.execute("SELECT shortname, id FROM user_info_field")}
    for column in sorted(columns):
        shortname = column.removeprefix(PROFILE_PREFIX)
        if shortname in existing:
            continue
        values = {row.values.get(column, "") for row in rows} - {""}
        datatype = "checkbox" if values and values <= {"0", "1"} else "text"
        cur = db.execute(
            "INSERT INTO user_info_field (shortname, name, datatype) VALUES (?, ?, ?)",
            (shortname, shortname.replace("_", " ").capitalize(), datatype),
        )
        existing[shortname] = int(cur.lastrowid or 0)
    return existing


def _load_row(db: sqlite3.Connection, row: BulkRow, fields: dict[str, int]) -> None:
    problem = row_problem(row.values)
    if problem is not None:
        raise SandboxError(problem)
    # Stored lowercased, as Moodle's upload does (and members_csv reads it).
    values = {**row.values, "username": row.values["username"].lower()}
    user_id = _upsert_user(db, values)
    for column, value in values.items():
        if column.startswith(PROFILE_PREFIX) and value:
            db.execute(
                "INSERT OR REPLACE INTO user_info_data VALUES (?, ?, ?)",
                (user_id, fields[column.removeprefix(PROFILE_PREFIX)], value),
            )
    for index in indexes(values):
        _load_enrolment(db, user_id, values, index)
        cohort = values.get(f"cohort{index}", "")
        if cohort:
            db.execute(
                "INSERT OR IGNORE INTO cohort_members VALUES (?, ?)",
                (_ensure_cohort(db, cohort), user_id),
            )


def _upsert_user(db: sqlite3.Connection, values: dict[str, str]) -> int:
    username = values["username"]
    standard = {
        key: values[key]
        for key in (
            "firstname",
            "lastname",
            "email",
            "idnumber",
            "department",
            "institution",
            "city",
            "country",
            "lang",
            "auth",
        )
        if values.get(key)
    }
    if values.get("suspended"):
        standard["suspended"] = str(int(values["suspended"] not in ("0", "")))
    row = db.execute("SELECT id FROM user WHERE username = ?", (username,)).fetchone()
    if row is None:
        standard.setdefault("email", f"{username}@example.com")
        columns = ["username", *standard]
        cur = db.execute(
            f"INSERT INTO user ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
            (username, *standard.values()),
        )
        return int(cur.lastrowid or 0)
    if standard:
        sets = ", ".join(f"{key} = ?" for key in standard)
        db.execute(f"UPDATE user SET {sets} WHERE id = ?", (*standard.values(), row[0]))
    return int(row[0])


def _load_enrolment(
    db: sqlite3.Connection, user_id: int, values: dict[str, str], index: str
) -> None:
    course = values.get(f"course{index}", "")
    group = values.get(f"group{index}", "")
    if not course:  # a group without its course is the row's problem (row_problem)
        return
    row = db.execute("SELECT id FROM course WHERE shortname = ?", (course,)).fetchone()
    course_id = int(row[0]) if row else create_course(db, course, course)
    role = values.get(f"role{index}", "") or "student"
    role_row = db.execute("SELECT id FROM role WHERE shortname = ?", (role,)).fetchone()
    if role_row is None:
        raise SandboxError(f"unknown role {role!r} in role{index}")
    enrol_user(db, course_id, user_id, int(role_row[0]))
    if group:
        db.execute(
            "INSERT OR IGNORE INTO groups_members VALUES (?, ?)",
            (_ensure_group(db, course_id, group), user_id),
        )


def _ensure_cohort(db: sqlite3.Connection, idnumber: str) -> int:
    row = db.execute("SELECT id FROM cohort WHERE idnumber = ?", (idnumber,)).fetchone()
    if row:
        return int(row[0])
    cur = db.execute("INSERT INTO cohort (name, idnumber) VALUES (?, ?)", (idnumber, idnumber))
    return int(cur.lastrowid or 0)


def _ensure_group(db: sqlite3.Connection, course_id: int, name: str) -> int:
    row = db.execute(
        "SELECT id FROM groups WHERE courseid = ? AND name = ?", (course_id, name)
    ).fetchone()
    if row:
        return int(row[0])
    cur = db.execute(
        "INSERT INTO groups (courseid, name, idnumber) VALUES (?, ?, ?)", (course_id, name, name)
    )
    return int(cur.lastrowid or 0)


# --- generator -------------------------------------------------------------------


def generate(
    store: Store,
    users: int = 100_000,
    courses: int = 200,
    fields: Iterable[FieldSpec] = (),
    seed: int = 1,
    *,
    cohorts: int = 0,
    members_per_cohort: int = 0,
    enrolments_per_course: int = 0,
) -> None:
    """Bulk-load synthetic users (``user000001``…), courses, cohorts and enrolments."""
    rng = random.Random(seed)
    specs = list(fields)
    with store.transaction() as db:
        first_id = _generate_users(db, rng, users)
        user_ids = range(first_id, first_id + users)
        _generate_profiles(db, rng, specs, user_ids)
        _generate_courses(db, rng, courses, user_ids, enrolments_per_course)
        _generate_cohorts(db, rng, cohorts, user_ids, members_per_cohort)


def _generate_users(db: sqlite3.Connection, rng: random.Random, count: int) -> int:
    start = int(db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM user").fetchone()[0])
    db.executemany(
        "INSERT INTO user (id, username, firstname, lastname, email, idnumber) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            (
                start + i,
                f"user{i + 1:06d}",
                rng.choice(FIRST_NAMES),
                rng.choice(LAST_NAMES),
                f"user{i + 1:06d}@example.com",
                f"EMP{i + 1:06d}",
            )
            for i in range(count)
        ),
    )
    return start


def _generate_profiles(
    db: sqlite3.Connection, rng: random.Random, specs: list[FieldSpec], user_ids: range
) -> None:
    for spec in specs:
        cur = db.execute(
            "INSERT INTO user_info_field (shortname, name, datatype, param1) VALUES (?, ?, ?, ?)",
            (spec.shortname, spec.shortname.capitalize(), spec.type, "\n".join(spec.options)),
        )
        field_id = int(cur.lastrowid or 0)
        db.executemany(
            "INSERT INTO user_info_data VALUES (?, ?, ?)",
            ((uid, field_id, _random_value(rng, spec)) for uid in user_ids),
        )


def _random_value(rng: random.Random, spec: FieldSpec) -> str:
    match spec.type:
        case "menu":
            return rng.choice(spec.options)
        case "checkbox":
            return rng.choice(("0", "1"))
        case _:
            return rng.choice(("north", "south", "east", "west", "emea", "apac", ""))


def _generate_courses(
    db: sqlite3.Connection, rng: random.Random, count: int, user_ids: range, per_course: int
) -> None:
    for number in range(1, count + 1):
        course_id = create_course(db, f"COURSE{number:04d}", f"Course {number}")
        instance = db.execute("SELECT id FROM enrol WHERE courseid = ?", (course_id,)).fetchone()[0]
        chosen = rng.sample(user_ids, min(per_course, len(user_ids)))
        db.executemany(
            "INSERT INTO user_enrolments VALUES (?, ?, 0)", ((instance, u) for u in chosen)
        )
        db.executemany(
            "INSERT INTO role_assignments VALUES (?, ?, 5)", ((course_id, u) for u in chosen)
        )


def _generate_cohorts(
    db: sqlite3.Connection, rng: random.Random, count: int, user_ids: range, per_cohort: int
) -> None:
    for number in range(1, count + 1):
        cur = db.execute(
            "INSERT INTO cohort (name, idnumber, description) VALUES (?, ?, '')",
            (f"Segment {number}", f"seg-{number:04d}"),
        )
        chosen = rng.sample(user_ids, min(per_cohort, len(user_ids)))
        db.executemany(
            "INSERT INTO cohort_members VALUES (?, ?)", ((cur.lastrowid, u) for u in chosen)
        )
