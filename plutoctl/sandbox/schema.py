"""The sandbox database's tables, shaped like Moodle's, and the rows a new Moodle has.

Table and column names follow Moodle's (``cohort``, ``cohort_members``,
``groups_members``…). A new database gets what a fresh Moodle install has: the guest
and admin users, the site course (the front page) and the standard roles.
"""

from __future__ import annotations

import secrets
import sqlite3

SITE_COURSE_ID = 1
SITE_SHORTNAME = "sandbox"
GUEST_ID = 1
ADMIN_ID = 2
DEFAULT_CATEGORY_ID = 1

ROLES: tuple[tuple[int, str, int], ...] = (
    (1, "manager", 1),
    (2, "coursecreator", 2),
    (3, "editingteacher", 3),
    (4, "teacher", 4),
    (5, "student", 5),
    (6, "guest", 6),
    (7, "user", 7),
    (8, "frontpage", 8),
)
FIELD_TYPES = ("text", "textarea", "menu", "checkbox")

SCHEMA = """
CREATE TABLE IF NOT EXISTS config (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS user (
    id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, auth TEXT NOT NULL DEFAULT 'manual',
    firstname TEXT NOT NULL DEFAULT '', lastname TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '', idnumber TEXT NOT NULL DEFAULT '',
    suspended INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0,
    department TEXT NOT NULL DEFAULT '', institution TEXT NOT NULL DEFAULT '',
    city TEXT NOT NULL DEFAULT '', country TEXT NOT NULL DEFAULT '',
    lang TEXT NOT NULL DEFAULT 'en', password TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS user_email ON user (email);
CREATE INDEX IF NOT EXISTS user_idnumber ON user (idnumber);
CREATE INDEX IF NOT EXISTS user_name ON user (lastname, firstname);
CREATE TABLE IF NOT EXISTS user_info_field (
    id INTEGER PRIMARY KEY, shortname TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
    datatype TEXT NOT NULL, param1 TEXT NOT NULL DEFAULT '',
    defaultdata TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS user_info_data (
    userid INTEGER NOT NULL, fieldid INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (userid, fieldid)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cohort (
    id INTEGER PRIMARY KEY, contextid INTEGER NOT NULL DEFAULT 1, name TEXT NOT NULL,
    idnumber TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '',
    descriptionformat INTEGER NOT NULL DEFAULT 1, visible INTEGER NOT NULL DEFAULT 1,
    theme TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS cohort_idnumber ON cohort (idnumber);
CREATE TABLE IF NOT EXISTS cohort_members (
    cohortid INTEGER NOT NULL, userid INTEGER NOT NULL,
    PRIMARY KEY (cohortid, userid)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS cohort_members_user ON cohort_members (userid);
CREATE TABLE IF NOT EXISTS course (
    id INTEGER PRIMARY KEY, category INTEGER NOT NULL DEFAULT 1,
    shortname TEXT NOT NULL UNIQUE, fullname TEXT NOT NULL, idnumber TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL DEFAULT '', format TEXT NOT NULL DEFAULT 'topics',
    visible INTEGER NOT NULL DEFAULT 1, timecreated INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS role (
    id INTEGER PRIMARY KEY, shortname TEXT NOT NULL UNIQUE, sortorder INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS enrol (
    id INTEGER PRIMARY KEY, courseid INTEGER NOT NULL, enrol TEXT NOT NULL,
    status INTEGER NOT NULL DEFAULT 0, roleid INTEGER NOT NULL DEFAULT 5);
CREATE INDEX IF NOT EXISTS enrol_course ON enrol (courseid);
CREATE TABLE IF NOT EXISTS user_enrolments (
    enrolid INTEGER NOT NULL, userid INTEGER NOT NULL, status INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (enrolid, userid)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS user_enrolments_user ON user_enrolments (userid);
CREATE TABLE IF NOT EXISTS role_assignments (
    courseid INTEGER NOT NULL, userid INTEGER NOT NULL, roleid INTEGER NOT NULL,
    PRIMARY KEY (courseid, userid, roleid)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS groups (
    id INTEGER PRIMARY KEY, courseid INTEGER NOT NULL, name TEXT NOT NULL,
    idnumber TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '',
    descriptionformat INTEGER NOT NULL DEFAULT 1, enrolmentkey TEXT,
    visibility INTEGER NOT NULL DEFAULT 0, participation INTEGER NOT NULL DEFAULT 1);
CREATE INDEX IF NOT EXISTS groups_course ON groups (courseid);
CREATE TABLE IF NOT EXISTS groups_members (
    groupid INTEGER NOT NULL, userid INTEGER NOT NULL,
    PRIMARY KEY (groupid, userid)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS groups_members_user ON groups_members (userid);
"""


def insert_fixed_rows(db: sqlite3.Connection) -> None:
    """Insert a new site's token and the rows every Moodle starts with."""
    db.execute("INSERT INTO config VALUES ('token', ?)", (secrets.token_hex(16),))
    db.executemany(
        "INSERT INTO user (id, username, firstname, lastname, email, auth) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [
            (GUEST_ID, "guest", "Guest user", " ", "root@localhost", "manual"),
            (ADMIN_ID, "admin", "Admin", "User", "admin@example.com", "manual"),
        ],
    )
    db.execute(
        "INSERT INTO course (id, category, shortname, fullname, format) "
        "VALUES (?, 0, ?, 'Pluto sandbox', 'site')",
        (SITE_COURSE_ID, SITE_SHORTNAME),
    )
    db.executemany("INSERT INTO role VALUES (?, ?, ?)", ROLES)
