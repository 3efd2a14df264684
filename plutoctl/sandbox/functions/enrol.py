"""Enrolment functions: core_enrol_* and enrol_manual_* (docs/moodle.md, "Enrolment")."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from plutoctl.sandbox.functions.base import CallContext, WsFunction, as_json_list
from plutoctl.sandbox.functions.users import custom_fields, user_record
from plutoctl.sandbox.params import Kind, Multiple, Need, Nested, Single, opt, php_int, req
from plutoctl.sandbox.rows import enrol_user, manual_instance
from plutoctl.sandbox.schema import SITE_COURSE_ID
from plutoctl.sandbox.wserrors import (
    course_context_error,
    invalid_parameter,
    missing_record,
    moodle_exception,
    php_type_error,
)

ASSIGNABLE_ROLES = frozenset({1, 3, 4, 5})
ALWAYS = ("id", "fullname")
ACCOUNT_FIELDS = frozenset(
    {"auth", "suspended", "confirmed", "lang", "theme", "timezone", "mailformat", "trackforums"}
)
USER_FIELDS = frozenset(
    {
        "id", "username", "fullname", "firstname", "lastname", "email", "address", "phone1",
        "phone2", "department", "institution", "interests", "idnumber", "firstaccess",
        "lastaccess", "lastcourseaccess", "auth", "suspended", "confirmed", "lang",
        "calendartype", "theme", "timezone", "mailformat", "trackforums", "description",
        "descriptionformat", "city", "url", "country", "profileimageurlsmall",
        "profileimageurl", "customfields", "groups", "roles", "preferences", "enrolledcourses",
    }
)  # fmt: skip
CAPABLE_ROLES: dict[str, tuple[int, ...]] = {"moodle/course:view": (1,)}
"""Roles (by id) whose archetype has a capability in a course; the sandbox knows few."""
SORTABLE = {
    "id": "u.id",
    "firstname": "u.firstname",
    "lastname": "u.lastname",
    "siteorder": "u.lastname, u.firstname, u.id",  # users_order_by_sql(): the direction binds to id
}
DIRECTIONS = ("ASC", "DESC")


def _options(raw: list[Nested]) -> dict[str, str]:
    """Read the options in order as Moodle does, refusing a bad sortby or sortdirection.

    They are read before the course, so a bad one fails even for a missing course.
    """
    options: dict[str, str] = {}
    for option in raw:
        name, value = option["name"], option["value"]
        if name == "sortby" and value not in SORTABLE:
            raise invalid_parameter(
                f"Invalid value for sortby parameter (value: {value}),"
                f"allowed values are: {','.join(SORTABLE)}"
            )
        if name == "sortdirection":
            value = value.upper()
            if value not in DIRECTIONS:
                raise invalid_parameter(
                    "Invalid value for sortdirection parameter\n"
                    f"                        (value: {value}),"
                    f"allowed values are: {','.join(DIRECTIONS)}"
                )
        if name == "userfields" and name in options:
            value = f"{options[name]},{value}"  # each userfields option adds its fields
        options[name] = value
    return options


def _int_option(options: dict[str, str], name: str, default: int) -> int:
    """Clean an option as PARAM_INT does, PHP's (int): ``12a`` is 12, ``abc`` 0."""
    return php_int(options[name]) if name in options else default


def get_enrolled_users(ctx: CallContext, args: Nested) -> list[dict[str, Any]]:
    """List enrolled users, paged; on the site course (id 1) every user counts.

    As on Moodle 4.5, the records never carry ``suspended`` (it is not in the
    function's return description, whatever ``userfields`` asks), nor the account
    fields (``auth``, ``lang``…); an unknown user field fails only once a user is
    listed; ``withcapability`` keeps only users whose course role has it.
    """
    course_id = args["courseid"]
    options = _options(args["options"])
    if ctx.db.execute("SELECT 1 FROM course WHERE id = ?", (course_id,)).fetchone() is None:
        raise missing_record("course")
    rows = _enrolled_rows(ctx.db, course_id, options)
    wanted = _userfields(options)
    unknown = [name for name in wanted or () if name not in USER_FIELDS]
    if rows and unknown:
        raise moodle_exception("invaliduserfield", f"Invalid user field: {unknown[0]}")
    ids = [row["id"] for row in rows]
    parts = _Parts(
        fields=custom_fields(ctx.db, ids, with_display=False),
        roles=_roles(ctx.db, course_id, ids),
        groups=_groups(ctx.db, course_id, ids),
        courses=_active_courses(ctx.db, ids),
    )
    kept = None if wanted is None else {*wanted, *ALWAYS}
    result = []
    for row in rows:
        record = _enrolled_record(ctx, row, parts)
        if kept is not None:
            record = {key: value for key, value in record.items() if key in kept}
        result.append(record)
    return result


@dataclass(frozen=True)
class _Parts:
    fields: dict[int, list[dict[str, str]]]
    roles: dict[int, list[dict]]
    groups: dict[int, list[dict]]
    courses: dict[int, list[dict]]


def _enrolled_record(ctx: CallContext, row: sqlite3.Row, parts: _Parts) -> dict[str, Any]:
    """Return a user as get_enrolled_users does: no account fields, course facts added."""
    full = user_record(row, ctx.site_url, parts.fields.get(row["id"]))
    preferences = full.pop("preferences", None)
    record: dict[str, Any] = {}
    for key, value in full.items():
        if key in ACCOUNT_FIELDS:
            continue
        record[key] = value
        if key == "lastaccess":
            record["lastcourseaccess"] = 0
    if parts.groups.get(row["id"]):
        record["groups"] = parts.groups[row["id"]]
    record["roles"] = parts.roles.get(row["id"], [])
    if preferences is not None:
        record["preferences"] = preferences
    if parts.courses.get(row["id"]):
        record["enrolledcourses"] = parts.courses[row["id"]]
    return record


def _active_courses(db: sqlite3.Connection, ids: Iterable[int]) -> dict[int, list[dict]]:
    """Return each user's active enrolments, in Moodle's course order (newest first)."""
    result: dict[int, list[dict]] = {}
    rows = db.execute(
        "SELECT ue.userid, c.id, c.fullname, c.shortname FROM user_enrolments ue "
        "JOIN enrol e ON e.id = ue.enrolid JOIN course c ON c.id = e.courseid "
        "WHERE ue.status = 0 AND e.status = 0 "
        "AND ue.userid IN (SELECT value FROM json_each(?)) ORDER BY c.id DESC",
        (as_json_list(ids),),
    )
    for userid, course_id, fullname, shortname in rows:
        result.setdefault(userid, []).append(
            {"id": course_id, "fullname": fullname, "shortname": shortname}
        )
    return result


def _userfields(options: dict[str, str]) -> list[str] | None:
    """Return the fields asked for, each cleaned as PARAM_ALPHANUMEXT, empty ones kept.

    Moodle checks every entry, so an empty one (``id,``, or ``userfields=""``) is an
    invalid field like any unknown name.
    """
    if "userfields" not in options:
        return None
    return [re.sub(r"[^a-zA-Z0-9_-]", "", name) for name in options["userfields"].split(",")]


def _enrolled_rows(
    db: sqlite3.Connection, course_id: int, options: dict[str, str]
) -> list[sqlite3.Row]:
    limitfrom = max(_int_option(options, "limitfrom", 0), 0)
    limitnumber = max(_int_option(options, "limitnumber", 0), 0)
    order = SORTABLE[options.get("sortby", "id")]
    direction = options.get("sortdirection", "ASC")
    where: list[str] = ["u.deleted = 0"]
    params: list[object] = []
    is_active = options.get("onlyactive", "0") not in ("", "0")  # PHP's !empty()
    if course_id != SITE_COURSE_ID:
        where.append(
            "u.id IN (SELECT ue.userid FROM user_enrolments ue JOIN enrol e ON e.id = ue.enrolid "
            "WHERE e.courseid = ?" + (" AND ue.status = 0 AND e.status = 0)" if is_active else ")")
        )
        params.append(course_id)
        if is_active:
            where.append("u.suspended = 0")
    if "withcapability" in options:
        roles = CAPABLE_ROLES.get(options["withcapability"], ())
        where.append(
            "u.id IN (SELECT userid FROM role_assignments WHERE courseid = ? "
            "AND roleid IN (SELECT value FROM json_each(?)))"
        )
        params += [course_id, as_json_list(roles)]
    if "groupid" in options and _int_option(options, "groupid", 0):
        where.append("u.id IN (SELECT userid FROM groups_members WHERE groupid = ?)")
        params.append(_int_option(options, "groupid", 0))
    sql = (
        f"SELECT u.* FROM user u WHERE {' AND '.join(where)} "
        f"ORDER BY {order} {direction}, u.id LIMIT ? OFFSET ?"
    )
    return db.execute(sql, (*params, limitnumber or -1, limitfrom)).fetchall()


def _roles(db: sqlite3.Connection, course_id: int, ids: Iterable[int]) -> dict[int, list[dict]]:
    result: dict[int, list[dict]] = {}
    rows = db.execute(
        "SELECT ra.userid, r.id, r.shortname, r.sortorder FROM role_assignments ra "
        "JOIN role r ON r.id = ra.roleid WHERE ra.courseid = ? "
        "AND ra.userid IN (SELECT value FROM json_each(?)) ORDER BY r.sortorder",
        (course_id, as_json_list(ids)),
    )
    for userid, roleid, shortname, _sortorder in rows:
        result.setdefault(userid, []).append(
            {"roleid": roleid, "name": "", "shortname": shortname, "sortorder": 0}
        )
    return result


def _groups(db: sqlite3.Connection, course_id: int, ids: Iterable[int]) -> dict[int, list[dict]]:
    result: dict[int, list[dict]] = {}
    rows = db.execute(
        "SELECT m.userid, g.id, g.name, g.description, g.descriptionformat FROM groups_members m "
        "JOIN groups g ON g.id = m.groupid WHERE g.courseid = ? "
        "AND m.userid IN (SELECT value FROM json_each(?)) ORDER BY g.id",
        (course_id, as_json_list(ids)),
    )
    for userid, group_id, name, description, descriptionformat in rows:
        result.setdefault(userid, []).append(
            {
                "id": group_id,
                "name": name,
                "description": description,
                "descriptionformat": descriptionformat,
            }
        )
    return result


def get_course_enrolment_methods(ctx: CallContext, args: Nested) -> list[dict[str, Any]]:
    """Return ``[]``: like a real site, manual instances have no enrol info to show."""
    if ctx.db.execute("SELECT 1 FROM course WHERE id = ?", (args["courseid"],)).fetchone() is None:
        raise course_context_error(args["courseid"])
    return []


def _require_instance(db: sqlite3.Connection, course_id: int, *, is_unenrol: bool = False) -> int:
    if db.execute("SELECT 1 FROM course WHERE id = ?", (course_id,)).fetchone() is None:
        # Moodle 4.5: enrol finds no instance (invalidparameter), unenrol reads the course
        if is_unenrol:
            raise missing_record("course")
        raise invalid_parameter(f"Context does not exist: course id {course_id}")
    instance = manual_instance(db, course_id)
    if instance is None:
        raise moodle_exception(
            "wsnoinstance",
            "Manual enrolment plugin instance doesn't exist or is disabled for the course "
            f"(id = {course_id})",
        )
    return instance


def enrol_users(ctx: CallContext, args: Nested) -> None:
    """Enrol users through the manual instance; re-enrolling adds the role and sets the
    enrolment's status: suspended with a true ``suspend``, else active, as Moodle's
    ``enrol_user`` does (a suspended enrolment enrolled again is active). One transaction."""
    for item in args["enrolments"]:
        _require_instance(ctx.db, item["courseid"])
        if item["roleid"] not in ASSIGNABLE_ROLES:
            raise moodle_exception(
                "wsusercannotassign",
                f"You don't have the permission to assign this role ({item['roleid']}) to this "
                f"user ({item['userid']}) in this course ({item['courseid']}).",
            )
        _require_enrollable_user(ctx.db, item["userid"])
        enrol_user(ctx.db, item["courseid"], item["userid"], item["roleid"])
        ctx.db.execute(
            "UPDATE user_enrolments SET status = ? WHERE userid = ? AND enrolid = ?",
            (
                int(bool(item.get("suspend"))),
                item["userid"],
                manual_instance(ctx.db, item["courseid"]),
            ),
        )


ENROLLIB_LINE = 3674


def _require_enrollable_user(db: sqlite3.Connection, user_id: int) -> None:
    """Fail as Moodle 4.5 does for a user id that does not exist: a bare PHP TypeError.

    enrol_user() reads the user record (false when missing) and hands it to a function
    typed for stdClass; the error escapes with no errorcode, and the call rolls back.
    """
    row = db.execute("SELECT 1 FROM user WHERE id = ? AND deleted = 0", (user_id,)).fetchone()
    if row is None:
        raise php_type_error(
            "core\\user::get_name_placeholders(): Argument #1 ($user) must be of type stdClass, "
            f"bool given, called in /var/www/moodle/lib/enrollib.php on line {ENROLLIB_LINE}"
        )


def unenrol_users(ctx: CallContext, args: Nested) -> None:
    """Unenrol users: removes the enrolment, roles and group memberships in that course."""
    for item in args["enrolments"]:
        instance = _require_instance(ctx.db, item["courseid"], is_unenrol=True)
        user = ctx.db.execute("SELECT 1 FROM user WHERE id = ?", (item["userid"],)).fetchone()
        if user is None:
            raise invalid_parameter(f"User id not exist: {item['userid']}")
        ctx.db.execute(
            "DELETE FROM user_enrolments WHERE enrolid = ? AND userid = ?",
            (instance, item["userid"]),
        )
        ctx.db.execute(
            "DELETE FROM role_assignments WHERE courseid = ? AND userid = ?",
            (item["courseid"], item["userid"]),
        )
        ctx.db.execute(
            "DELETE FROM groups_members WHERE userid = ? "
            "AND groupid IN (SELECT id FROM groups WHERE courseid = ?)",
            (item["userid"], item["courseid"]),
        )


FUNCTIONS: tuple[WsFunction, ...] = (
    WsFunction(
        "core_enrol_get_enrolled_users",
        Single(
            {
                "courseid": req(Kind.INT),
                "options": Multiple(
                    Single({"name": req(Kind.ALPHANUMEXT), "value": req(Kind.RAW)}),
                    Need.DEFAULT,
                    [],
                ),
            }
        ),
        get_enrolled_users,
    ),
    WsFunction(
        "core_enrol_get_course_enrolment_methods",
        Single({"courseid": req(Kind.INT)}),
        get_course_enrolment_methods,
    ),
    WsFunction(
        "enrol_manual_enrol_users",
        Single(
            {
                "enrolments": Multiple(
                    Single(
                        {
                            "roleid": req(Kind.INT),
                            "userid": req(Kind.INT),
                            "courseid": req(Kind.INT),
                            "timestart": opt(Kind.INT),
                            "timeend": opt(Kind.INT),
                            "suspend": opt(Kind.INT),
                        }
                    )
                )
            }
        ),
        enrol_users,
        is_write=True,
    ),
    WsFunction(
        "enrol_manual_unenrol_users",
        Single(
            {
                "enrolments": Multiple(
                    Single(
                        {
                            "userid": req(Kind.INT),
                            "courseid": req(Kind.INT),
                            "roleid": opt(Kind.INT),
                        }
                    )
                )
            }
        ),
        unenrol_users,
        is_write=True,
    ),
)
