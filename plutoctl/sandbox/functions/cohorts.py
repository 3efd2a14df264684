"""core_cohort_* functions (docs/moodle.md, "Cohorts (segments)")."""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

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
from plutoctl.sandbox.wserrors import (
    coding_error,
    invalid_parameter,
    missing_record,
    moodle_exception,
)

CATEGORY_TYPE = Single({"type": req(Kind.TEXT), "value": req(Kind.RAW)})
CUSTOMFIELDS = Multiple(
    Single({"shortname": req(Kind.ALPHANUMEXT), "value": req(Kind.RAW)}), Need.OPTIONAL
)
COHORT_FIELDS: dict[str, Description] = {
    "description": opt(Kind.RAW),
    "descriptionformat": dflt(Kind.INT, 1),
    "visible": opt(Kind.BOOL),
    "theme": opt(Kind.RAW),
    "customfields": CUSTOMFIELDS,
}
SYSTEM_CONTEXT = 1
CATEGORY_CONTEXT_BASE = 1000


def _record(row: sqlite3.Row, *, with_customfields: bool = True) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": row["id"],
        "name": row["name"],
        "idnumber": row["idnumber"],
        "description": row["description"],
        "descriptionformat": row["descriptionformat"],
        "visible": bool(row["visible"]),
        "theme": row["theme"],
    }
    if with_customfields:
        record["customfields"] = []
    return record


def _context_id(categorytype: Nested) -> int:
    """Return the context of a cohort's category (the sandbox has one category, id 1)."""
    kind, value = categorytype["type"], categorytype["value"]
    if kind == "system":
        return SYSTEM_CONTEXT
    if kind not in ("id", "idnumber"):
        raise invalid_parameter("category type must be id, idnumber or system")
    if kind == "id" and str(value) == "1":
        return CATEGORY_CONTEXT_BASE + 1
    raise invalid_parameter(f"category not exists: category {kind} = {value}")


def create_cohorts(ctx: CallContext, args: Nested) -> list[dict[str, Any]]:
    """Create cohorts; a duplicate idnumber anywhere rolls back the whole batch.

    As on Moodle 4.5 a blank name is accepted, and a name or idnumber longer than
    its column fails in the database (dml_write_exception), after the id was spent.
    """
    created = []
    for cohort in args["cohorts"]:
        context_id = _context_id(cohort["categorytype"])
        taken = ctx.db.execute(
            "SELECT 1 FROM cohort WHERE idnumber = ?", (cohort["idnumber"],)
        ).fetchone()
        if taken:
            raise invalid_parameter(f"record already exists: idnumber={cohort['idnumber']}")
        cohort_id = ctx.next_id("cohort")
        check_columns("cohort", cohort)
        ctx.db.execute(
            "INSERT INTO cohort (id, contextid, name, idnumber, description, descriptionformat, "
            "visible, theme) VALUES (?, ?, ?, ?, ?, ?, ?, '')",
            (
                cohort_id,
                context_id,
                cohort["name"],
                cohort["idnumber"],
                cohort.get("description", ""),
                cohort["descriptionformat"],
                int(cohort.get("visible", True)),
            ),
        )
        row = require_row(ctx.db, "cohort", cohort_id)
        created.append(_record(row, with_customfields=False))
    return created


def update_cohorts(ctx: CallContext, args: Nested) -> None:
    """Update cohorts (the full record is required; no idnumber uniqueness check)."""
    for cohort in args["cohorts"]:
        require_row(ctx.db, "cohort", cohort["id"])
        context_id = _context_id(cohort["categorytype"])
        if not cohort["name"].strip():  # update refuses a blank name that create accepts
            raise invalid_parameter("Invalid cohort name")
        check_columns("cohort", cohort)
        sets = {
            "contextid": context_id,
            "name": cohort["name"],
            "idnumber": cohort["idnumber"],
            "descriptionformat": cohort["descriptionformat"],
        }
        if "description" in cohort:
            sets["description"] = cohort["description"]
        if "visible" in cohort:
            sets["visible"] = int(cohort["visible"])
        assignments = ", ".join(f"{column} = ?" for column in sets)
        ctx.db.execute(
            f"UPDATE cohort SET {assignments} WHERE id = ?",
            (*sets.values(), cohort["id"]),
        )


def delete_cohorts(ctx: CallContext, args: Nested) -> None:
    """Delete cohorts and their memberships; any unknown id rolls back all."""
    for cohort_id in args["cohortids"]:
        require_row(ctx.db, "cohort", cohort_id)
        ctx.db.execute("DELETE FROM cohort_members WHERE cohortid = ?", (cohort_id,))
        ctx.db.execute("DELETE FROM cohort WHERE id = ?", (cohort_id,))


def get_cohorts(ctx: CallContext, args: Nested) -> list[dict[str, Any]]:
    """Return cohorts by id (unknown ids skipped); no ids means every cohort."""
    ids = args["cohortids"]
    if not ids:
        rows = ctx.db.execute("SELECT * FROM cohort ORDER BY id")
    else:
        rows = ctx.db.execute(
            "SELECT * FROM cohort WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
            (as_json_list(ids),),
        )
    return [_record(row) for row in rows]


def search_cohorts(ctx: CallContext, args: Nested) -> dict[str, Any]:
    """Search cohorts by name, idnumber or description; ``limitfrom`` is a page index."""
    includes = args["includes"]
    if includes not in ("parents", "self", "all"):
        raise coding_error("Invalid parameter value for 'includes'.")
    is_course = _check_search_context(ctx.db, args["context"])
    if includes == "all":
        where = "1 = 1"
    elif is_course:  # a course holds no cohorts; its parents are its category and the site
        where = "1 = 1" if includes == "parents" else "0 = 1"
    else:
        where = "contextid = 1"
    query = args["query"]
    params: list[Any] = []
    if query and query != "0":  # PHP's empty(): "0" is no search, as "" is
        # cohort_get_search_query: a substring, its LIKE wildcards matched as themselves.
        where += " AND (name LIKE ? ESCAPE '\\' OR idnumber LIKE ? ESCAPE '\\'"
        where += " OR description LIKE ? ESCAPE '\\')"
        literal = re.sub(r"([\\%_])", r"\\\1", query)
        params += [f"%{literal}%"] * 3
    limit = args["limitnum"]
    offset = args["limitfrom"] * limit
    rows = ctx.db.execute(
        f"SELECT * FROM cohort WHERE {where} ORDER BY name, idnumber LIMIT ? OFFSET ?",
        (*params, limit if limit > 0 else -1, offset),
    )
    return {"cohorts": [_record(row) for row in rows]}


def _check_search_context(db: sqlite3.Connection, context: Nested) -> bool:
    """Accept the system context (id 1, level ``system``) or a course's; True for a course."""
    level, context_id = str(context["contextlevel"]), context["contextid"]
    if context_id == SYSTEM_CONTEXT or (context_id == 0 and level in ("system", "10")):
        return False
    if context_id == 0 and level in ("course", "50"):
        course = db.execute("SELECT 1 FROM course WHERE id = ?", (context["instanceid"],))
        if course.fetchone() is None:
            raise missing_record("context")
        return True
    if context_id == 0 and not level:
        raise invalid_parameter(
            "Missing parameters, please provide either context level with instance id or contextid"
        )
    raise invalid_parameter(f"Invalid context: contextid={context_id} contextlevel={level}")


def add_cohort_members(ctx: CallContext, args: Nested) -> dict[str, Any]:
    """Add members; problems become warnings (codes 1/2/3) and the batch continues."""
    warnings = []
    for member in args["members"]:
        warning = _add_member(ctx.db, member["cohorttype"], member["usertype"])
        if warning is not None:
            warnings.append(warning)
    return {"warnings": warnings}


def _add_member(db: sqlite3.Connection, cohorttype: Nested, usertype: Nested) -> dict | None:
    ctype, cvalue = cohorttype["type"], cohorttype["value"]
    utype, uvalue = usertype["type"], usertype["value"]
    if ctype not in ("id", "idnumber"):
        return {"warningcode": "1", "message": f"invalid parameter: cohortype={ctype}"}
    if utype not in ("id", "username"):
        return {"warningcode": "1", "message": f"invalid parameter: usertype={utype}"}
    numeric = {"cohort": (ctype, cvalue), "user": (utype, uvalue)}.values()
    if any(kind == "id" and not str(value).lstrip("-").isdigit() for kind, value in numeric):
        # Moodle 4.5 fails the whole call (nothing added) on a non-numeric user id: the
        # database refuses the lookup inside the call's try block. A cohort id is looked
        # up in the same block, so a non-numeric one fails the call alike.
        raise moodle_exception("Error", "cohort/Error")
    cohort = db.execute(f"SELECT id FROM cohort WHERE {ctype} = ?", (cvalue,)).fetchone()
    if cohort is None:
        return {"warningcode": "2", "message": f"cohort {ctype}={cvalue} not exists"}
    user = db.execute(
        f"SELECT id FROM user WHERE {utype} = ? AND deleted = 0",
        (uvalue,),
    ).fetchone()
    if user is None:
        return {"warningcode": "2", "message": f"user {utype}={uvalue} not exists"}
    cur = db.execute("INSERT OR IGNORE INTO cohort_members VALUES (?, ?)", (cohort[0], user[0]))
    if cur.rowcount == 0:
        return {
            "warningcode": "3",
            "message": f"record already exists: cohort({ctype}={cvalue} {utype}={uvalue})",
        }
    return None


def delete_cohort_members(ctx: CallContext, args: Nested) -> None:
    """Remove members; an unknown cohort or user rolls back all, a non-member is a no-op."""
    for member in args["members"]:
        require_row(ctx.db, "cohort", member["cohortid"])
        require_user(ctx.db, member["userid"])
        ctx.db.execute(
            "DELETE FROM cohort_members WHERE cohortid = ? AND userid = ?",
            (member["cohortid"], member["userid"]),
        )


def get_cohort_members(ctx: CallContext, args: Nested) -> list[dict[str, Any]]:
    """Return [{cohortid, userids}] for many cohorts in one query; any unknown id throws.

    One entry per id asked for, in the order asked, a repeated id again (Moodle loops
    over the ids). Moodle orders each list by last name and first name; the sandbox
    orders by user id, which lets SQLite build the lists straight from the primary
    key (2,000 segments of 100k users in a fraction of a second). Clients must not
    rely on either order.
    """
    ids: list[int] = args["cohortids"]
    wanted = as_json_list(ids)
    found = {
        row[0]
        for row in ctx.db.execute(
            "SELECT id FROM cohort WHERE id IN (SELECT value FROM json_each(?))", (wanted,)
        )
    }
    if len(found) != len(set(ids)):
        raise missing_record("cohort")
    members: dict[int, list[int]] = {cohort_id: [] for cohort_id in ids}
    rows = ctx.db.execute(
        "SELECT cohortid, json_group_array(userid) FROM cohort_members "
        "WHERE cohortid IN (SELECT value FROM json_each(?)) GROUP BY cohortid",
        (wanted,),
    )
    for cohort_id, userids in rows:
        members[cohort_id] = json.loads(userids)
    return [{"cohortid": cohort_id, "userids": members[cohort_id]} for cohort_id in ids]


FUNCTIONS: tuple[WsFunction, ...] = (
    WsFunction(
        "core_cohort_create_cohorts",
        Single(
            {
                "cohorts": Multiple(
                    Single(
                        {
                            "categorytype": CATEGORY_TYPE,
                            "name": req(Kind.RAW),
                            "idnumber": req(Kind.RAW),
                            **COHORT_FIELDS,
                        }
                    )
                )
            }
        ),
        create_cohorts,
        is_write=True,
        is_raw_answer=True,
    ),
    WsFunction(
        "core_cohort_update_cohorts",
        Single(
            {
                "cohorts": Multiple(
                    Single(
                        {
                            "id": req(Kind.INT),
                            "categorytype": CATEGORY_TYPE,
                            "name": req(Kind.RAW),
                            "idnumber": req(Kind.RAW),
                            **COHORT_FIELDS,
                        }
                    )
                )
            }
        ),
        update_cohorts,
        is_write=True,
    ),
    WsFunction(
        "core_cohort_delete_cohorts",
        Single({"cohortids": Multiple(req(Kind.INT))}),
        delete_cohorts,
        is_write=True,
    ),
    WsFunction(
        "core_cohort_get_cohorts",
        Single({"cohortids": Multiple(req(Kind.INT), Need.DEFAULT, [])}),
        get_cohorts,
    ),
    WsFunction(
        "core_cohort_search_cohorts",
        Single(
            {
                "query": req(Kind.RAW),
                "context": Single(
                    {
                        "contextid": dflt(Kind.INT, 0),
                        "contextlevel": dflt(Kind.ALPHANUMEXT, ""),
                        "instanceid": dflt(Kind.INT, 0),
                    }
                ),
                "includes": dflt(Kind.ALPHA, "parents"),
                "limitfrom": dflt(Kind.INT, 0),
                "limitnum": dflt(Kind.INT, 25),
            }
        ),
        search_cohorts,
    ),
    WsFunction(
        "core_cohort_add_cohort_members",
        Single(
            {
                "members": Multiple(
                    Single(
                        {
                            "cohorttype": Single(
                                {"type": req(Kind.ALPHANUMEXT), "value": req(Kind.RAW)}
                            ),
                            "usertype": Single(
                                {"type": req(Kind.ALPHANUMEXT), "value": req(Kind.RAW)}
                            ),
                        }
                    )
                )
            }
        ),
        add_cohort_members,
        is_write=True,
    ),
    WsFunction(
        "core_cohort_delete_cohort_members",
        Single({"members": Multiple(Single({"cohortid": req(Kind.INT), "userid": req(Kind.INT)}))}),
        delete_cohort_members,
        is_write=True,
    ),
    WsFunction(
        "core_cohort_get_cohort_members",
        Single({"cohortids": Multiple(req(Kind.INT))}),
        get_cohort_members,
    ),
)
