"""The sandbox LMS's data: a SQLite database shaped like the parts of Moodle it serves.

One connection guarded by a re-entrant lock serves every server thread; a
``transaction()`` holds the lock for its whole body, so a web-service call is atomic
and a failed call rolls back entirely (Moodle's delegated transactions). The tables
are in ``schema``; what a site keeps outside its transactions (id sequences, the
group cache) in ``memory``.

The seeding and query helpers take usernames, course shortnames and idnumbers, so
tests read like the LMS's admin screens.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from plutoctl.errors import SandboxError
from plutoctl.sandbox.memory import SiteMemory
from plutoctl.sandbox.rows import create_course, enrol_user, is_enrolled
from plutoctl.sandbox.schema import FIELD_TYPES, SCHEMA, insert_fixed_rows


class Store:
    """Thread-safe access to the sandbox database, for the server, seeding and tests."""

    def __init__(self, db_path: str | Path | None = None) -> None:
        target = ":memory:" if db_path is None else str(db_path)
        self._lock = threading.RLock()
        self.memory = SiteMemory()
        try:
            self._conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
            self._conn.row_factory = sqlite3.Row
            if db_path is not None:
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
            self.is_new = self._create_schema()
        except sqlite3.Error as exc:
            raise SandboxError(
                f"cannot open the sandbox database {target}: {exc}",
                hint="sandbox:PATH names a SQLite file that plutoctl creates and keeps; "
                "name a new file (e.g. .plutoctl/demo.db) in a folder you can write to",
            ) from exc

    # --- plumbing ---------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock and run the body in one transaction (rolled back on error)."""
        with self._lock:
            if self._conn.in_transaction:
                yield self._conn
                return
            self._conn.execute("BEGIN")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    def _create_schema(self) -> bool:
        with self._lock:
            self._conn.executescript(SCHEMA)
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM config WHERE name = 'token'").fetchone():
                return False
            insert_fixed_rows(db)
            return True

    @property
    def token(self) -> str:
        """The web-service token of this database."""
        with self.transaction() as db:
            return str(db.execute("SELECT value FROM config WHERE name = 'token'").fetchone()[0])

    # --- seeding ------------------------------------------------------------------

    def add_profile_field(
        self,
        shortname: str,
        type: str = "text",
        options: Iterable[str] | None = None,
        name: str | None = None,
    ) -> int:
        """Define a custom profile field (text, textarea, menu with options, checkbox)."""
        if type not in FIELD_TYPES:
            raise SandboxError(f"unknown profile field type {type!r}; use one of {FIELD_TYPES}")
        param1 = "\n".join(options or ())
        title = name or shortname.replace("_", " ").capitalize()
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO user_info_field (shortname, name, datatype, param1) "
                "VALUES (?, ?, ?, ?)",
                (shortname, title, type, param1),
            )
            return int(cur.lastrowid or 0)

    def add_user(
        self,
        username: str,
        firstname: str = "Test",
        lastname: str = "User",
        email: str | None = None,
        *,
        idnumber: str = "",
        suspended: bool = False,
        department: str = "",
        institution: str = "",
        city: str = "",
        country: str = "",
        lang: str = "en",
        auth: str = "manual",
        custom: dict[str, str] | None = None,
    ) -> int:
        """Create a user and return its id; ``custom`` sets profile fields by shortname."""
        row = (
            username,
            auth,
            firstname,
            lastname,
            email or f"{username}@example.com",
            idnumber,
            int(suspended),
            department,
            institution,
            city,
            country,
            lang,
        )
        with self.transaction() as db:
            try:
                cur = db.execute(
                    "INSERT INTO user (username, auth, firstname, lastname, email, idnumber, "
                    "suspended, department, institution, city, country, lang) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
            except sqlite3.IntegrityError as exc:
                raise SandboxError(f"user {username!r} already exists") from exc
            user_id = int(cur.lastrowid or 0)
            if custom:
                self._write_profile(db, user_id, custom)
            return user_id

    def add_users(self, rows: Iterable[tuple[object, ...]]) -> None:
        """Bulk-insert users: (username, firstname, lastname, email, idnumber, department)."""
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO user (username, firstname, lastname, email, idnumber, department) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )

    def set_profile(self, username: str, **custom: str) -> None:
        """Change custom profile field values of a user ('' clears a field)."""
        with self.transaction() as db:
            self._write_profile(db, self._user_id(db, username), custom)

    def _write_profile(self, db: sqlite3.Connection, user_id: int, custom: dict[str, str]) -> None:
        fields = self._field_ids(db)
        for shortname, value in custom.items():
            if shortname not in fields:
                raise SandboxError(f"no profile field {shortname!r}; add it first")
            db.execute(
                "INSERT OR REPLACE INTO user_info_data VALUES (?, ?, ?)",
                (user_id, fields[shortname], str(value)),
            )

    @staticmethod
    def _field_ids(db: sqlite3.Connection) -> dict[str, int]:
        rows = db.execute("SELECT shortname, id FROM user_info_field").fetchall()
        return {row[0]: row[1] for row in rows}

    def add_course(self, shortname: str, fullname: str | None = None) -> int:
        """Create a course with an enabled manual enrolment instance; return its id."""
        with self.transaction() as db:
            return create_course(db, shortname, fullname or shortname)

    def enrol(self, user: str | int, course: str | int, role: str = "student") -> None:
        """Enrol a user (username or id) in a course (shortname or id) with a role."""
        with self.transaction() as db:
            role_id = db.execute("SELECT id FROM role WHERE shortname = ?", (role,)).fetchone()
            if role_id is None:
                raise SandboxError(f"unknown role {role!r}")
            enrol_user(db, self._course_id(db, course), self._user_id(db, user), role_id[0])

    def add_cohort(
        self, idnumber: str, name: str, description: str = "", visible: bool = True
    ) -> int:
        """Create a system cohort and return its id."""
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO cohort (name, idnumber, description, visible) VALUES (?, ?, ?, ?)",
                (name, idnumber, description, int(visible)),
            )
            return int(cur.lastrowid or 0)

    def add_cohort_members(self, idnumber_or_id: str | int, usernames: Iterable[str]) -> None:
        """Add users (by username) to a cohort (by idnumber or id)."""
        with self.transaction() as db:
            cohort_id = self._cohort_id(db, idnumber_or_id)
            ids = self._user_ids(db, usernames)
            db.executemany(
                "INSERT OR IGNORE INTO cohort_members VALUES (?, ?)",
                ((cohort_id, uid) for uid in ids),
            )

    def add_group(
        self, course: str | int, name: str, idnumber: str = "", description: str = ""
    ) -> int:
        """Create a group in a course and return its id."""
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO groups (courseid, name, idnumber, description) VALUES (?, ?, ?, ?)",
                (self._course_id(db, course), name, idnumber, description),
            )
            return int(cur.lastrowid or 0)

    def add_group_members(
        self, course: str | int, group_idnumber: str, usernames: Iterable[str]
    ) -> None:
        """Add users to a group; like the LMS, only users enrolled in the course."""
        with self.transaction() as db:
            course_id = self._course_id(db, course)
            group_id = self._group_id(db, course_id, group_idnumber)
            for uid in self._user_ids(db, usernames):
                if not is_enrolled(db, course_id, uid):
                    raise SandboxError(f"user id {uid} is not enrolled in course {course!r}")
                db.execute("INSERT OR IGNORE INTO groups_members VALUES (?, ?)", (group_id, uid))

    # --- queries ------------------------------------------------------------------

    def cohorts(self) -> dict[str, dict[str, object]]:
        """Return every cohort by idnumber: {id, name, description, visible}."""
        with self.transaction() as db:
            rows = db.execute("SELECT id, idnumber, name, description, visible FROM cohort")
            return {
                r["idnumber"]: {
                    "id": r["id"],
                    "name": r["name"],
                    "description": r["description"],
                    "visible": bool(r["visible"]),
                }
                for r in rows
            }

    def cohort_members(self, idnumber: str) -> set[str]:
        """Return the usernames of a cohort's members."""
        with self.transaction() as db:
            rows = db.execute(
                "SELECT u.username FROM cohort_members m JOIN user u ON u.id = m.userid "
                "WHERE m.cohortid = ?",
                (self._cohort_id(db, idnumber),),
            )
            return {r[0] for r in rows}

    def groups(self, course: str | int) -> dict[str, dict[str, object]]:
        """Return a course's groups by idnumber: {id, name, description}."""
        with self.transaction() as db:
            rows = db.execute(
                "SELECT id, idnumber, name, description FROM groups WHERE courseid = ?",
                (self._course_id(db, course),),
            )
            return {
                r["idnumber"]: {"id": r["id"], "name": r["name"], "description": r["description"]}
                for r in rows
            }

    def group_members(self, course: str | int, group_idnumber: str) -> set[str]:
        """Return the usernames in a group (by course and group idnumber)."""
        with self.transaction() as db:
            group_id = self._group_id(db, self._course_id(db, course), group_idnumber)
            rows = db.execute(
                "SELECT u.username FROM groups_members m JOIN user u ON u.id = m.userid "
                "WHERE m.groupid = ?",
                (group_id,),
            )
            return {r[0] for r in rows}

    def enrolments(self, course: str | int) -> dict[str, set[str]]:
        """Return username → role shortnames for everyone enrolled in a course."""
        with self.transaction() as db:
            course_id = self._course_id(db, course)
            result: dict[str, set[str]] = {}
            rows = db.execute(
                "SELECT u.username, r.shortname FROM user_enrolments ue "
                "JOIN enrol e ON e.id = ue.enrolid JOIN user u ON u.id = ue.userid "
                "LEFT JOIN role_assignments ra ON ra.courseid = e.courseid AND ra.userid = u.id "
                "LEFT JOIN role r ON r.id = ra.roleid WHERE e.courseid = ?",
                (course_id,),
            )
            for username, role in rows:
                roles = result.setdefault(username, set())
                if role:
                    roles.add(role)
            return result

    def user_count(self) -> int:
        """Return the number of (non-deleted) users, guest and admin included."""
        with self.transaction() as db:
            return int(db.execute("SELECT COUNT(*) FROM user WHERE deleted = 0").fetchone()[0])

    def user_id(self, username: str) -> int:
        """Return the id of a user by username."""
        with self.transaction() as db:
            return self._user_id(db, username)

    # --- lookups ------------------------------------------------------------------

    @staticmethod
    def _user_id(db: sqlite3.Connection, user: str | int) -> int:
        if isinstance(user, int):
            return user
        row = db.execute("SELECT id FROM user WHERE username = ?", (user,)).fetchone()
        if row is None:
            raise SandboxError(f"no user {user!r}")
        return int(row[0])

    def _user_ids(self, db: sqlite3.Connection, usernames: Iterable[str]) -> list[int]:
        return [self._user_id(db, name) for name in usernames]

    @staticmethod
    def _course_id(db: sqlite3.Connection, course: str | int) -> int:
        if isinstance(course, int):
            return course
        row = db.execute("SELECT id FROM course WHERE shortname = ?", (course,)).fetchone()
        if row is None:
            raise SandboxError(f"no course {course!r}")
        return int(row[0])

    @staticmethod
    def _cohort_id(db: sqlite3.Connection, cohort: str | int) -> int:
        if isinstance(cohort, int):
            return cohort
        row = db.execute("SELECT id FROM cohort WHERE idnumber = ?", (cohort,)).fetchone()
        if row is None:
            raise SandboxError(f"no cohort {cohort!r}")
        return int(row[0])

    @staticmethod
    def _group_id(db: sqlite3.Connection, course_id: int, idnumber: str) -> int:
        row = db.execute(
            "SELECT id FROM groups WHERE courseid = ? AND idnumber = ?", (course_id, idnumber)
        ).fetchone()
        if row is None:
            raise SandboxError(f"no group {idnumber!r} in course id {course_id}")
        return int(row[0])
