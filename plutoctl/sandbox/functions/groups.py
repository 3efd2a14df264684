"""core_group_* functions (docs/moodle.md, "Groups")."""

from __future__ import annotations

import sqlite3
from typing import Any

from plutoctl.phptext import trim
from plutoctl.sandbox.functions.base import (
    CallContext,
    WsFunction,
    as_json_list,
    check_columns,
    require_row,
    require_user,
)
from plutoctl.sandbox.params import (
    Description,
    Kind,
    Multiple,
    Need,
    Nested,
    Single,
    dflt,
    opt,
    req,
)
from plutoctl.sandbox.rows import is_enrolled
from plutoctl.sandbox.wserrors import (
    WsError,
    course_context_error,
    invalid_parameter,
    missing_record,
    moodle_exception,
)

MEMBERS = Single({"members": Multiple(Single({"groupid": req(Kind.INT), "userid": req(Kind.INT)}))})
GROUP_IDS = Single({"groupids": Multiple(req(Kind.INT))})


def group_record(row: sqlite3.Row) -> dict[str, Any]:
    """Return a group as core_group_get_course_groups does."""
    return {
        "id": row["id"],
        "courseid": row["courseid"],
        "name": row["name"],
        "description": row["description"],
        "descriptionformat": row["descriptionformat"],
        "enrolmentkey": row["enrolmentkey"],
        "idnumber": row["idnumber"],
        "visibility": row["visibility"],
        "participation": bool(row["participation"]),
    }


def _require_course(db: sqlite3.Connection, course_id: int) -> None:
    if db.execute("SELECT 1 FROM course WHERE id = ?", (course_id,)).fetchone() is None:
        raise course_context_error(course_id)


def _check_name_and_idnumber(
    db: sqlite3.Connection, course_id: int, name: str, idnumber: str, group_id: int = 0
) -> None:
    if not name.strip():
        raise invalid_parameter("Invalid group name")
    clash = db.execute(
        "SELECT 1 FROM groups WHERE courseid = ? AND name = ? AND id != ?",
        (course_id, name, group_id),
    ).fetchone()
    if clash:
        which = "A different group" if group_id else "Group"
        raise invalid_parameter(f"{which} with the same name already exists in the course")
    if idnumber:
        taken = db.execute(
            "SELECT 1 FROM groups WHERE courseid = ? AND idnumber = ? AND id != ?",
            (course_id, idnumber, group_id),
        ).fetchone()
        if taken:
            message = (
                "ID number is already used for another group"
                if group_id
                else "This ID number is already in use"
            )
            raise moodle_exception("idnumbertaken", message)


def create_groups(ctx: CallContext, args: Nested) -> list[dict[str, Any]]:
    """Create groups; a clashing name or idnumber rolls back the whole batch.

    When an item fails inside Moodle's groups_create_group (its idnumber is taken,
    or the database refuses it), that function has already rebuilt the course's
    group cache with the batch's earlier groups: those stay listed after the
    rollback, as on Moodle 4.5 (see ``SiteMemory``). A failure found before
    (a bad course or a duplicate name) leaves the cache alone.
    """
    created: list[dict[str, Any]] = []
    for group in args["groups"]:
        try:
            created.append(_create_one(ctx, group))
        except WsError as exc:
            if exc.errorcode in CACHE_BUILDING_ERRORS:
                same_course = [r for r in created if r["courseid"] == group["courseid"]]
                ctx.memory.keep_stale_groups(same_course)
            raise
    ctx.memory.forget_stale_groups({int(record["courseid"]) for record in created})
    return created


CACHE_BUILDING_ERRORS = frozenset({"idnumbertaken", "dmlwriteexception"})


def _create_one(ctx: CallContext, group: Nested) -> dict[str, Any]:
    _require_course(ctx.db, group["courseid"])
    idnumber = group.get("idnumber", "")
    _check_name_and_idnumber(ctx.db, group["courseid"], group["name"], idnumber)
    group_id = ctx.next_id("groups")
    check_columns("groups", group)
    ctx.db.execute(
        "INSERT INTO groups (id, courseid, name, idnumber, description, descriptionformat, "
        "enrolmentkey, visibility, participation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            group_id,
            group["courseid"],
            trim(group["name"]),  # groups_create_group() trims, after the name check
            trim(idnumber),
            group["description"],
            group["descriptionformat"],
            group.get("enrolmentkey"),
            group["visibility"],
            int(group["participation"]),
        ),
    )
    record = group_record(require_row(ctx.db, "groups", group_id))
    record["enrolmentkey"] = group.get("enrolmentkey", "")
    return record


def update_groups(ctx: CallContext, args: Nested) -> None:
    """Update groups (``name`` required); members freeze visibility and participation."""
    for group in args["groups"]:
        row = ctx.db.execute("SELECT * FROM groups WHERE id = ?", (group["id"],)).fetchone()
        if row is None:
            raise invalid_parameter(f"Group {group['id']} does not exist")
        idnumber = group.get("idnumber", row["idnumber"])
        _check_name_and_idnumber(ctx.db, row["courseid"], group["name"], idnumber, row["id"])
        _check_frozen(ctx.db, row, group)
        check_columns("groups", group)
        ctx.memory.forget_stale_groups([row["courseid"]])
        ctx.db.execute(
            "UPDATE groups SET name = ?, description = ?, descriptionformat = ?, idnumber = ?, "
            "enrolmentkey = ?, visibility = ?, participation = ? WHERE id = ?",
            (
                trim(group["name"]),  # groups_update_group() trims, as create does
                group.get("description", row["description"]),
                group["descriptionformat"],
                trim(idnumber),
                group.get("enrolmentkey", row["enrolmentkey"]),
                int(group.get("visibility", row["visibility"])),
                int(group.get("participation", row["participation"])),
                row["id"],
            ),
        )


def _check_frozen(db: sqlite3.Connection, row: sqlite3.Row, group: Nested) -> None:
    changes = [
        key
        for key in ("visibility", "participation")
        if key in group and int(group[key]) != int(row[key])
    ]
    if not changes:
        return
    has_members = db.execute("SELECT 1 FROM groups_members WHERE groupid = ?", (row["id"],))
    if has_members.fetchone():
        raise invalid_parameter(
            f"The group {row['name']} visibility and participation cannot be changed as it "
            "currently has members"
        )


def delete_groups(ctx: CallContext, args: Nested) -> None:
    """Delete groups and their memberships; unknown ids are ignored."""
    ids = as_json_list(args["groupids"])
    courses = ctx.db.execute(
        "SELECT DISTINCT courseid FROM groups WHERE id IN (SELECT value FROM json_each(?))", (ids,)
    )
    ctx.memory.forget_stale_groups([row[0] for row in courses.fetchall()])
    ctx.db.execute(
        "DELETE FROM groups_members WHERE groupid IN (SELECT value FROM json_each(?))", (ids,)
    )
    ctx.db.execute("DELETE FROM groups WHERE id IN (SELECT value FROM json_each(?))", (ids,))


def get_course_groups(ctx: CallContext, args: Nested) -> list[dict[str, Any]]:
    """Return a course's groups ordered by name."""
    _require_course(ctx.db, args["courseid"])
    rows = ctx.db.execute("SELECT * FROM groups WHERE courseid = ?", (args["courseid"],))
    records = [group_record(row) for row in rows] + ctx.memory.stale_groups(args["courseid"])
    return sorted(records, key=lambda record: (str(record["name"]), int(record["id"])))


def get_groups(ctx: CallContext, args: Nested) -> list[dict[str, Any]]:
    """Return groups by id; any unknown id throws."""
    result = []
    for group_id in args["groupids"]:
        record = group_record(require_row(ctx.db, "groups", group_id))
        record["customfields"] = []
        result.append(record)
    return result


def add_group_members(ctx: CallContext, args: Nested) -> None:
    """Add members (enrolled users only); all-or-nothing, an existing member is a no-op."""
    for member in args["members"]:
        group = require_row(ctx.db, "groups", member["groupid"])
        require_user(ctx.db, member["userid"])
        if not is_enrolled(ctx.db, group["courseid"], member["userid"]):
            raise invalid_parameter("Only enrolled users may be members of groups")
        ctx.db.execute(
            "INSERT OR IGNORE INTO groups_members VALUES (?, ?)",
            (member["groupid"], member["userid"]),
        )


def delete_group_members(ctx: CallContext, args: Nested) -> None:
    """Remove members; a non-member is a no-op, an unknown group or user throws."""
    for member in args["members"]:
        require_row(ctx.db, "groups", member["groupid"])
        require_user(ctx.db, member["userid"])
        ctx.db.execute(
            "DELETE FROM groups_members WHERE groupid = ? AND userid = ?",
            (member["groupid"], member["userid"]),
        )


def get_group_members(ctx: CallContext, args: Nested) -> list[dict[str, Any]]:
    """Return [{groupid, userids}], one per id asked for (repeats too); an unknown one throws."""
    ids: list[int] = args["groupids"]
    found = {
        row[0]
        for row in ctx.db.execute(
            "SELECT id FROM groups WHERE id IN (SELECT value FROM json_each(?))",
            (as_json_list(ids),),
        )
    }
    if len(found) != len(set(ids)):
        raise missing_record("groups")  # a rolled-back group the cache lists fails here too
    members: dict[int, list[int]] = {group_id: [] for group_id in ids}
    rows = ctx.db.execute(
        # groups_get_members(..., 'lastname ASC, firstname ASC'); ties by id here
        "SELECT m.groupid, m.userid FROM groups_members m JOIN user u ON u.id = m.userid "
        "WHERE m.groupid IN (SELECT value FROM json_each(?)) "
        "ORDER BY m.groupid, u.lastname, u.firstname, u.id",
        (as_json_list(ids),),
    )
    for group_id, user_id in rows:
        members[group_id].append(user_id)
    return [{"groupid": group_id, "userids": members[group_id]} for group_id in ids]


GROUP_FIELDS: dict[str, Description] = {
    "descriptionformat": dflt(Kind.INT, 1),
    "enrolmentkey": opt(Kind.RAW),
    "idnumber": opt(Kind.RAW),
    "customfields": Multiple(
        Single({"shortname": req(Kind.ALPHANUMEXT), "value": req(Kind.RAW)}), Need.OPTIONAL
    ),
}

FUNCTIONS: tuple[WsFunction, ...] = (
    WsFunction(
        "core_group_create_groups",
        Single(
            {
                "groups": Multiple(
                    Single(
                        {
                            "courseid": req(Kind.INT),
                            "name": req(Kind.TEXT),
                            "description": req(Kind.RAW),
                            **GROUP_FIELDS,
                            "visibility": dflt(Kind.INT, 0),
                            "participation": dflt(Kind.BOOL, True),
                        }
                    )
                )
            }
        ),
        create_groups,
        is_write=True,
        is_raw_answer=True,
    ),
    WsFunction(
        "core_group_update_groups",
        Single(
            {
                "groups": Multiple(
                    Single(
                        {
                            "id": req(Kind.INT),
                            "name": req(Kind.TEXT),
                            "description": opt(Kind.RAW),
                            **GROUP_FIELDS,
                            "visibility": opt(Kind.INT),
                            "participation": opt(Kind.BOOL),
                        }
                    )
                )
            }
        ),
        update_groups,
        is_write=True,
    ),
    WsFunction("core_group_delete_groups", GROUP_IDS, delete_groups, is_write=True),
    WsFunction(
        "core_group_get_course_groups", Single({"courseid": req(Kind.INT)}), get_course_groups
    ),
    WsFunction("core_group_get_groups", GROUP_IDS, get_groups),
    WsFunction("core_group_add_group_members", MEMBERS, add_group_members, is_write=True),
    WsFunction("core_group_delete_group_members", MEMBERS, delete_group_members, is_write=True),
    WsFunction("core_group_get_group_members", GROUP_IDS, get_group_members),
)
