"""core_course_* functions (docs/moodle.md, "Courses")."""

from __future__ import annotations

import sqlite3
from typing import Any

from plutoctl.errors import SandboxError
from plutoctl.sandbox.functions.base import CallContext, WsFunction, as_json_list
from plutoctl.sandbox.params import Kind, Multiple, Need, Nested, Single, dflt, opt, req
from plutoctl.sandbox.rows import create_course
from plutoctl.sandbox.schema import DEFAULT_CATEGORY_ID
from plutoctl.sandbox.wserrors import invalid_parameter, moodle_exception

BY_FIELD = {"id": "id", "shortname": "shortname", "idnumber": "idnumber", "category": "category"}


def _record(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "shortname": row["shortname"],
        "categoryid": row["category"],
        "categorysortorder": 10000 if row["category"] else 1,
        "fullname": row["fullname"],
        "displayname": row["fullname"],
        "idnumber": row["idnumber"],
        "summary": row["summary"],
        "summaryformat": 1,
        "format": row["format"],
        "startdate": 0,
        "enddate": 0,
        "visible": row["visible"],
        "groupmode": 0,
        "groupmodeforce": 0,
        "timecreated": row["timecreated"],
        "timemodified": row["timecreated"],
        "customfields": [],
    }


def get_courses(ctx: CallContext, args: Nested) -> list[dict[str, Any]]:
    """Return courses by id, or every course (the site course included) without ids."""
    ids = args["options"].get("ids", [])
    if ids:
        rows = ctx.db.execute(
            "SELECT * FROM course WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
            (as_json_list(ids),),
        )
    else:
        rows = ctx.db.execute("SELECT * FROM course ORDER BY id")
    return [_record(row) for row in rows]


def get_courses_by_field(ctx: CallContext, args: Nested) -> dict[str, Any]:
    """Return ``{courses, warnings}`` matching one field; no field means every course."""
    field, value = args["field"], args["value"]
    if field == "":  # every course, the front page included (as Moodle 4.5 answers)
        rows = ctx.db.execute("SELECT * FROM course ORDER BY id")
    elif field == "ids":
        ids = [int(part) for part in value.split(",") if part.strip().isdigit()]
        rows = ctx.db.execute(
            "SELECT * FROM course WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
            (as_json_list(ids),),
        )
    elif field in BY_FIELD:
        rows = ctx.db.execute(
            f"SELECT * FROM course WHERE {BY_FIELD[field]} = ? ORDER BY id",
            (value,),
        )
    else:
        raise invalid_parameter("Invalid field name")
    courses = []
    for row in rows:
        record = _record(row)
        record["enrollmentmethods"] = _methods(ctx.db, row["id"])
        courses.append(record)
    return {"courses": courses, "warnings": []}


def _methods(db: sqlite3.Connection, course_id: int) -> list[str]:
    rows = db.execute(
        "SELECT DISTINCT enrol FROM enrol WHERE courseid = ? AND status = 0 ORDER BY id",
        (course_id,),
    )
    return [row[0] for row in rows]


def create_courses(ctx: CallContext, args: Nested) -> list[dict[str, Any]]:
    """Create courses (each with a manual enrolment instance); a clash rolls back all."""
    created = []
    for course in args["courses"]:
        if course["categoryid"] != DEFAULT_CATEGORY_ID:
            raise moodle_exception(
                "errorcatcontextnotvalid",
                "You cannot execute functions in the category context (category id:"
                f"{course['categoryid']}). The context error message was: "
                "Invalid parameter value detected",
            )
        try:
            course_id = create_course(ctx.db, course["shortname"], course["fullname"])
        except SandboxError as exc:
            raise moodle_exception(
                "shortnametaken",
                f"Short name is already used for another course ({course['shortname']})",
            ) from exc
        ctx.db.execute(
            "UPDATE course SET idnumber = ?, summary = ?, format = ?, visible = ? WHERE id = ?",
            (
                course.get("idnumber", ""),
                course.get("summary", ""),
                course["format"],
                int(course.get("visible", True)),
                course_id,
            ),
        )
        created.append({"id": course_id, "shortname": course["shortname"]})
    return created


FUNCTIONS: tuple[WsFunction, ...] = (
    WsFunction(
        "core_course_get_courses",
        Single(
            {"options": Single({"ids": Multiple(req(Kind.INT), Need.OPTIONAL)}, Need.DEFAULT, {})}
        ),
        get_courses,
    ),
    WsFunction(
        "core_course_get_courses_by_field",
        Single({"field": dflt(Kind.ALPHA, ""), "value": dflt(Kind.RAW, "")}),
        get_courses_by_field,
    ),
    WsFunction(
        "core_course_create_courses",
        Single(
            {
                "courses": Multiple(
                    Single(
                        {
                            "fullname": req(Kind.TEXT),
                            "shortname": req(Kind.TEXT),
                            "categoryid": req(Kind.INT),
                            "idnumber": opt(Kind.RAW),
                            "summary": opt(Kind.RAW),
                            "summaryformat": dflt(Kind.INT, 1),
                            "format": dflt(Kind.ALPHANUMEXT, "topics"),
                            "visible": opt(Kind.INT),
                            "startdate": opt(Kind.INT),
                            "enddate": opt(Kind.INT),
                        }
                    )
                )
            }
        ),
        create_courses,
        is_write=True,
    ),
)
