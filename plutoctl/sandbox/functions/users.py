"""core_user_* functions (docs/moodle.md, "Users") and the user record they return."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterable
from typing import Any

from plutoctl.sandbox.functions.base import CallContext, WsFunction, as_json_list
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
from plutoctl.sandbox.schema import ADMIN_ID, GUEST_ID
from plutoctl.sandbox.wserrors import coding_error, invalid_parameter, moodle_exception

TEXT_MAXLENGTH = 2048
# What a Moodle install gives the guest account.
GUEST_DESCRIPTION = "This user is a special user that allows read-only access to some courses."
IMAGE_PATH = "/theme/image.php/boost/core/1795869743/u/"
FIELD_COLUMNS = ("username", "idnumber", "email", "id")
CRITERIA_EXACT = ("id", "idnumber", "username", "auth")
CRITERIA_LIKE = ("email", "firstname", "lastname")
CUSTOMFIELDS = Multiple(
    Single({"type": req(Kind.ALPHANUMEXT), "value": req(Kind.RAW)}), Need.OPTIONAL
)
PREFERENCES = Multiple(Single({"type": req(Kind.RAW), "value": req(Kind.RAW)}), Need.OPTIONAL)
PROFILE_KEYS: dict[str, Description] = {
    "firstname": opt(Kind.TEXT),
    "lastname": opt(Kind.TEXT),
    "email": opt(Kind.RAW),
    "idnumber": opt(Kind.RAW),
    "department": opt(Kind.TEXT),
    "institution": opt(Kind.TEXT),
    "city": opt(Kind.TEXT),
    "country": opt(Kind.ALPHA),
    "lang": opt(Kind.ALPHANUMEXT),
    "auth": opt(Kind.ALPHANUMEXT),
    "password": opt(Kind.RAW),
    "timezone": opt(Kind.RAW),
    "description": opt(Kind.RAW),
    "customfields": CUSTOMFIELDS,
    "preferences": PREFERENCES,
}
STORED_COLUMNS = (
    "username",
    "auth",
    "firstname",
    "lastname",
    "email",
    "idnumber",
    "suspended",
    "department",
    "institution",
    "city",
    "country",
    "lang",
)


# --- reading ------------------------------------------------------------------------


def custom_fields(
    db: sqlite3.Connection, user_ids: Iterable[int], *, with_display: bool
) -> dict[int, list[dict[str, str]]]:
    """Return each user's non-empty custom fields, in field order, in one query."""
    result: dict[int, list[dict[str, str]]] = {}
    rows = db.execute(
        "SELECT d.userid, d.data, f.datatype, f.name, f.shortname FROM user_info_data d "
        "JOIN user_info_field f ON f.id = d.fieldid "
        "WHERE d.userid IN (SELECT value FROM json_each(?)) AND d.data != '' "
        "ORDER BY d.userid, f.id",
        (as_json_list(user_ids),),
    )
    for userid, data, datatype, name, shortname in rows:
        field: dict[str, str] = {"type": datatype, "value": data}
        if with_display:
            field["displayvalue"] = _display(datatype, data)
        field["name"] = name
        field["shortname"] = shortname
        result.setdefault(userid, []).append(field)
    return result


def _display(datatype: str, data: str) -> str:
    if datatype == "checkbox":
        return "Yes" if data == "1" else "No"
    return data


def user_record(
    row: sqlite3.Row, site_url: str, fields: list[dict[str, str]] | None
) -> dict[str, Any]:
    """Return a user as ``user_get_user_details`` does for an admin token."""
    record: dict[str, Any] = {
        "id": row["id"],
        "username": row["username"],
        "firstname": row["firstname"],
        "lastname": row["lastname"],
        "fullname": fullname(row),
        "email": row["email"],
        "department": row["department"],
    }
    for optional in ("institution", "idnumber"):
        if row[optional]:
            record[optional] = row[optional]
    record.update(
        firstaccess=0,
        lastaccess=0,
        auth=row["auth"],
        suspended=bool(row["suspended"]),
        confirmed=True,
        lang=row["lang"],
        theme="",
        timezone="99",
        mailformat=1,
        trackforums=0,
    )
    if row["id"] == GUEST_ID:
        record.update(description=GUEST_DESCRIPTION, descriptionformat=1)
    for optional in ("city", "country"):
        if row[optional]:
            record[optional] = row[optional]
    record["profileimageurlsmall"] = f"{site_url}{IMAGE_PATH}f2"
    record["profileimageurl"] = f"{site_url}{IMAGE_PATH}f1"
    if fields:
        record["customfields"] = fields
    if row["id"] == ADMIN_ID:
        now = int(time.time())
        record["preferences"] = [
            {"name": "last_time_enrolments_synced", "value": str(now)},
            {"name": "_lastloaded", "value": now},
        ]
    return record


def fullname(row: sqlite3.Row) -> str:
    """Return Moodle's default full name: first name, a space, last name."""
    return f"{row['firstname']} {row['lastname']}"


def users_by_ids(ctx: CallContext, rows: list[sqlite3.Row]) -> list[dict[str, Any]]:
    """Return full user records for rows, with custom fields read in one query."""
    fields = custom_fields(ctx.db, (row["id"] for row in rows), with_display=True)
    return [user_record(row, ctx.site_url, fields.get(row["id"])) for row in rows]


def get_users_by_field(ctx: CallContext, args: Nested) -> list[dict[str, Any]]:
    """Return users whose ``field`` is one of ``values`` (one IN query), ordered by id."""
    field = args["field"]
    if field not in FIELD_COLUMNS:
        raise coding_error("invalid field parameter")
    values: list[Any] = []
    for value in args["values"]:
        if value == "" and field != "id":
            continue  # Moodle drops empty values: no user is found by an empty idnumber
        values.append(_clean_field_value(field, value))
    rows = ctx.db.execute(
        f"SELECT * FROM user WHERE {field} IN (SELECT value FROM json_each(?)) ORDER BY id",
        (as_json_list(values),),
    ).fetchall()
    return users_by_ids(ctx, rows)


def _clean_field_value(field: str, value: str) -> Any:
    if field == "id":
        if not re.fullmatch(r"-?\d+", value):
            raise invalid_parameter(f"The field '{field}' value is invalid: {value}")
        return int(value)
    if field == "username" and not re.fullmatch(r"[a-z0-9_.@-]*", value):
        raise invalid_parameter(f"The field '{field}' value is invalid: {value}")
    return value


def get_users(ctx: CallContext, args: Nested) -> dict[str, Any]:
    """Search users by ANDed criteria (exact or LIKE), ordered by id, unpaged."""
    clauses, params, warnings, seen = ["deleted = 0"], [], [], set()
    for criterion in args["criteria"]:
        key, value = criterion["key"], criterion["value"]
        if key in seen:
            raise moodle_exception(
                "keyalreadyset", "error/keyalreadyset", f"The key {key} can only be sent once"
            )
        seen.add(key)
        if key == "username":
            value = value.lower()  # PARAM_USERNAME lowers the case before the search
        if key in CRITERIA_EXACT:
            clauses.append(f"{key} = ?")
        elif key in CRITERIA_LIKE:
            clauses.append(f"LOWER({key}) LIKE LOWER(?)")
        else:
            warnings.append(
                {
                    "item": key,
                    "warningcode": "invalidfieldparameter",
                    "message": f"The search key '{key}' is not supported, look at the web "
                    "service documentation",
                }
            )
            continue
        params.append(value)
    rows = ctx.db.execute(
        f"SELECT * FROM user WHERE {' AND '.join(clauses)} ORDER BY id",
        params,
    ).fetchall()
    # Then, as Moodle does, a user whose details lack a searched field (PHP's empty():
    # an empty email, an idnumber not shown) is left out, whatever the pattern matched.
    searched = [key for key in seen if key in CRITERIA_EXACT or key in CRITERIA_LIKE]
    users = [
        user
        for user in users_by_ids(ctx, rows)
        if all(user.get(key) not in (None, "", "0", 0) for key in searched)
    ]
    return {"users": users, "warnings": warnings}


# --- writing ------------------------------------------------------------------------


def write_custom_fields(db: sqlite3.Connection, user_id: int, fields: list[Nested]) -> None:
    """Save custom profile fields the way Moodle does: unknown ignored, bad menu cleared."""
    definitions = {row["shortname"]: row for row in db.execute("SELECT * FROM user_info_field")}
    for item in fields:
        definition = definitions.get(item["type"])
        if definition is None:
            continue
        data = _field_data(definition, item["value"])
        db.execute(
            "INSERT OR REPLACE INTO user_info_data VALUES (?, ?, ?)",
            (user_id, definition["id"], data),
        )


def _field_data(definition: sqlite3.Row, value: str) -> str:
    match definition["datatype"]:
        case "menu":
            options = definition["param1"].split("\n")
            return value if value in options else definition["defaultdata"]
        case "checkbox":
            return "1" if value not in ("", "0") else "0"
        case "text":
            return value[:TEXT_MAXLENGTH]
        case _:
            return value


def create_users(ctx: CallContext, args: Nested) -> list[dict[str, Any]]:
    """Create users in one transaction; a duplicate username or email rolls back all."""
    created = []
    for user in args["users"]:
        _check_new_user(ctx.db, user)
        row = {column: user[column] for column in STORED_COLUMNS if column in user}
        row.setdefault("lang", "en")
        columns = ", ".join(row)
        cur = ctx.db.execute(
            f"INSERT INTO user ({columns}) VALUES ({', '.join('?' for _ in row)})",
            tuple(row.values()),
        )
        user_id = int(cur.lastrowid or 0)
        write_custom_fields(ctx.db, user_id, user.get("customfields", []))
        created.append({"id": user_id, "username": user["username"]})
    return created


def _check_new_user(db: sqlite3.Connection, user: Nested) -> None:
    if db.execute("SELECT 1 FROM user WHERE username = ?", (user["username"],)).fetchone():
        raise invalid_parameter(f"Username already exists: {user['username']}")
    if user["auth"] == "manual" and not user.get("password") and not user.get("createpassword"):
        raise invalid_parameter(
            "Invalid password: you must provide a password, or set createpassword."
        )
    if not re.fullmatch(r"[^@\s]+@[^@\s]+", user["email"]):
        raise invalid_parameter(f"Email address is invalid: {user['email']}")
    if db.execute("SELECT 1 FROM user WHERE LOWER(email) = LOWER(?)", (user["email"],)).fetchone():
        raise invalid_parameter(f"Email address already exists: {user['email']}")


def update_users(ctx: CallContext, args: Nested) -> dict[str, Any]:
    """Update users one by one; a failing user becomes a warning and the rest go on."""
    warnings = []
    for user in args["users"]:
        ctx.db.execute("SAVEPOINT user_update")
        try:
            _update_user(ctx.db, user)
        except _UserNotUpdated as exc:
            ctx.db.execute("ROLLBACK TO user_update")
            warnings.append(
                {"item": "user", "itemid": user["id"], "warningcode": exc.code, "message": exc.text}
            )
        ctx.db.execute("RELEASE user_update")
    return {"warnings": warnings}


class _UserNotUpdated(Exception):
    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code, self.text = code, text


def _update_user(db: sqlite3.Connection, user: Nested) -> None:
    row = db.execute("SELECT * FROM user WHERE id = ?", (user["id"],)).fetchone()
    if row is None:
        raise _UserNotUpdated("invaliduserid", "Invalid user ID")
    if row["deleted"]:
        raise _UserNotUpdated("usernotupdateddeleted", "User is a deleted user")
    if row["username"] == "guest":
        raise _UserNotUpdated("usernotupdatedguest", "Cannot update the guest user")
    _check_changes(db, row, user)
    sets = {column: user[column] for column in STORED_COLUMNS if column in user}
    if "suspended" in sets:
        sets["suspended"] = int(sets["suspended"])
    if sets:
        assignments = ", ".join(f"{column} = ?" for column in sets)
        db.execute(
            f"UPDATE user SET {assignments} WHERE id = ?",
            (*sets.values(), user["id"]),
        )
    write_custom_fields(db, user["id"], user.get("customfields", []))


def _check_changes(db: sqlite3.Connection, row: sqlite3.Row, user: Nested) -> None:
    if "username" in user and user["username"] != row["username"]:
        taken = db.execute("SELECT 1 FROM user WHERE username = ?", (user["username"],))
        if taken.fetchone():
            raise _UserNotUpdated("usernameexists", "Username already exists")
    if "email" in user and user["email"].lower() != row["email"].lower():
        taken = db.execute(
            "SELECT 1 FROM user WHERE LOWER(email) = LOWER(?) AND id != ?",
            (user["email"], row["id"]),
        )
        if taken.fetchone():
            raise _UserNotUpdated("useremailduplicate", "Duplicate email address")


FUNCTIONS: tuple[WsFunction, ...] = (
    WsFunction(
        "core_user_get_users",
        Single({"criteria": Multiple(Single({"key": req(Kind.ALPHA), "value": req(Kind.RAW)}))}),
        get_users,
    ),
    WsFunction(
        "core_user_get_users_by_field",
        Single({"field": req(Kind.ALPHA), "values": Multiple(req(Kind.RAW))}),
        get_users_by_field,
    ),
    WsFunction(
        "core_user_create_users",
        Single(
            {
                "users": Multiple(
                    Single(
                        {
                            **PROFILE_KEYS,
                            "username": req(Kind.USERNAME),
                            "auth": dflt(Kind.ALPHANUMEXT, "manual"),
                            "createpassword": opt(Kind.BOOL),
                            "firstname": req(Kind.TEXT),
                            "lastname": req(Kind.TEXT),
                            "email": req(Kind.RAW),
                            "idnumber": dflt(Kind.RAW, ""),
                        }
                    )
                )
            }
        ),
        create_users,
        is_write=True,
    ),
    WsFunction(
        "core_user_update_users",
        Single(
            {
                "users": Multiple(
                    Single(
                        {
                            "id": req(Kind.INT),
                            "username": opt(Kind.USERNAME),
                            "suspended": opt(Kind.BOOL),
                            **PROFILE_KEYS,
                        }
                    )
                )
            }
        ),
        update_users,
        is_write=True,
    ),
)
