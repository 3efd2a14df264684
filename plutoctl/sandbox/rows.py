"""Rows the web-service functions and seeding both write: courses and enrolments.

A course always comes with an enabled manual enrolment instance, as on a Moodle site
where manual enrolment is on; enrolling goes through that instance.
"""

from __future__ import annotations

import sqlite3

from plutoctl.errors import SandboxError


def create_course(db: sqlite3.Connection, shortname: str, fullname: str, category: int = 1) -> int:
    """Insert a course and its enabled manual enrolment instance; return the course id."""
    try:
        cur = db.execute(
            "INSERT INTO course (shortname, fullname, category) VALUES (?, ?, ?)",
            (shortname, fullname, category),
        )
    except sqlite3.IntegrityError as exc:
        raise SandboxError(f"course {shortname!r} already exists") from exc
    course_id = int(cur.lastrowid or 0)
    db.execute("INSERT INTO enrol (courseid, enrol) VALUES (?, 'manual')", (course_id,))
    return course_id


def manual_instance(db: sqlite3.Connection, course_id: int) -> int | None:
    """Return the id of a course's enabled manual enrolment instance, if any."""
    row = db.execute(
        "SELECT id FROM enrol WHERE courseid = ? AND enrol = 'manual' AND status = 0",
        (course_id,),
    ).fetchone()
    return None if row is None else int(row[0])


def enrol_user(db: sqlite3.Connection, course_id: int, user_id: int, role_id: int) -> None:
    """Enrol a user through the manual instance and assign the role (idempotent)."""
    instance = manual_instance(db, course_id)
    if instance is None:
        raise SandboxError(f"course id {course_id} has no manual enrolment instance")
    db.execute("INSERT OR IGNORE INTO user_enrolments VALUES (?, ?, 0)", (instance, user_id))
    db.execute(
        "INSERT OR IGNORE INTO role_assignments VALUES (?, ?, ?)", (course_id, user_id, role_id)
    )


def is_enrolled(db: sqlite3.Connection, course_id: int, user_id: int) -> bool:
    """Return whether a user has any enrolment in a course (suspended ones count)."""
    row = db.execute(
        "SELECT 1 FROM user_enrolments ue JOIN enrol e ON e.id = ue.enrolid "
        "WHERE e.courseid = ? AND ue.userid = ?",
        (course_id, user_id),
    ).fetchone()
    return row is not None
