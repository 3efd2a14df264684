"""Enrolment functions: core_enrol_* and enrol_manual_* (reference/moodle-ws.md §7)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from plutoctl.sandbox.functions.base import CallContext, WsFunction, as_json_list, require_user
from plutoctl.sandbox.functions.users import custom_fields, user_record
from plutoctl.sandbox.params import Kind, Multiple, Need, Nested, Single, clean, opt, req
from plutoctl.sandbox.store import SITE_COURSE_ID, enrol_user, manual_instance
from plutoctl.sandbox.wserrors import course_context_error, invalid_parameter, moodle_exception

ASSIGNABLE_ROLES = frozenset({1, 3, 4, 5})
ALWAYS = ("id", "fullname")
SORTABLE = {"id": "u.id", "firstname": "u.firstname", "lastname": "u.lastname", "siteorder": "u.id"}


def _options(raw: list[Nested]) -> dict[str, str]:
    return {option["name"]: option["value"] for option in raw}


def _int_option(options: dict[str, str], name: str, default: int) -> int:
    if name not in options:
        return default
    value = clean(Kind.INT, options[name])
    if value is None:
        raise invalid_parameter(f"Invalid option value for {name}")
    return int(value)


def get_enrolled_users(ctx: CallContext, args: Nested) -> list[dict[str, Any]]:
    """List enrolled users, paged; on the site course (id 1) every user counts."""
    course_id = args["courseid"]
    if ctx.db.execute("SELECT 1 FROM course WHERE id = ?", (course_id,)).fetchone() is None:
        raise course_context_error(course_id)
    options = _options(args["options"])
    rows = _enrolled_rows(ctx.db, course_id, options)
    wanted = _userfields(options)
    ids = [row["id"] for row in rows]
    fields = (
        custom_fields(ctx.db, ids, with_display=False)
        if wanted is None or "customfields" in wanted
        else {}
    )
    roles = _roles(ctx.db, course_id, ids) if wanted is None or "roles" in wanted else {}
    groups = _groups(ctx.db, course_id, ids) if wanted is None or "groups" in wanted else {}
    result = []
    for row in rows:
        record = user_record(row, ctx.site_url, fields.get(row["id"]))
        record["roles"] = roles.get(row["id"], [])
        record["groups"] = groups.get(row["id"], [])
        if wanted is not None:
            record = {key: value for key, value in record.items() if key in wanted or key in ALWAYS}
        result.append(record)
    return result


def _userfields(options: dict[str, str]) -> set[str] | None:
    if "userfields" not in options:
        return None
    return {name.strip() for name in options["userfields"].split(",") if name.strip()}


def _enrolled_rows(
    db: sqlite3.Connection, course_id: int, options: dict[str, str]
) -> list[sqlite3.Row]:
    limitfrom = _int_option(options, "limitfrom", 0)
    limitnumber = _int_option(options, "limitnumber", 0)
    order = SORTABLE.get(options.get("sortby", "id"), "u.id")
    direction = "DESC" if options.get("sortdirection", "ASC").upper() == "DESC" else "ASC"
    where, params = ["u.deleted = 0"], []
    if course_id != SITE_COURSE_ID:
        where.append(
            "u.id IN (SELECT ue.userid FROM user_enrolments ue JOIN enrol e ON e.id = ue.enrolid "
            "WHERE e.courseid = ?"
            + (" AND ue.status = 0)" if options.get("onlyactive") == "1" else ")")
        )
        params.append(course_id)
    if options.get("onlyactive") == "1":
        where.append("u.suspended = 0")
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
    for userid, roleid, shortname, sortorder in rows:
        result.setdefault(userid, []).append(
            {"roleid": roleid, "name": "", "shortname": shortname, "sortorder": sortorder}
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


def _require_instance(db: sqlite3.Connection, course_id: int) -> int:
    if db.execute("SELECT 1 FROM course WHERE id = ?", (course_id,)).fetchone() is None:
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
    """Enrol users through the manual instance; re-enrolling adds the role. One transaction."""
    for item in args["enrolments"]:
        _require_instance(ctx.db, item["courseid"])
        if item["roleid"] not in ASSIGNABLE_ROLES:
            raise moodle_exception(
                "wsusercannotassign",
                f"You don't have the permission to assign this role ({item['roleid']}) to this "
                f"user ({item['userid']}) in this course({item['courseid']}).",
            )
        require_user(ctx.db, item["userid"])
        enrol_user(ctx.db, item["courseid"], item["userid"], item["roleid"])
        if "suspend" in item:
            ctx.db.execute(
                "UPDATE user_enrolments SET status = ? WHERE userid = ? AND enrolid = ?",
                (
                    int(bool(item["suspend"])),
                    item["userid"],
                    manual_instance(ctx.db, item["courseid"]),
                ),
            )


def unenrol_users(ctx: CallContext, args: Nested) -> None:
    """Unenrol users: removes the enrolment, roles and group memberships in that course."""
    for item in args["enrolments"]:
        instance = _require_instance(ctx.db, item["courseid"])
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
