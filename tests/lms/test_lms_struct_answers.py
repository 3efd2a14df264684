"""The user answers decoded by msgspec give what pydantic's models give, and the same errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import TypeAdapter

from plutoctl.lms.answers import (
    ENROLMENTS,
    USERS,
    USERS_ANSWER,
    Enrolment,
    EnrolmentRow,
    RoleRow,
    UserRecord,
    UserRow,
)
from plutoctl.lms.responses import AnswerShapeError, parse_response

USER_PAGE: list[dict[str, Any]] = [
    {
        "id": 7,
        "username": "ann",
        "fullname": "Ann Lee",
        "lastname": "Lee",
        "customfields": [
            {"type": "menu", "value": "Sales", "name": "Department", "shortname": "department"},
            {"type": "text", "value": None, "shortname": "region"},
        ],
    },
    {"id": 8, "username": "bob", "suspended": True, "deleted": False, "email": None},
    {"id": 9},
]


def _parse(body: bytes, adapter: Any, function: str = "core_enrol_get_enrolled_users") -> Any:
    return parse_response(
        site="s", function=function, status=200, body=body, token="0123abcd", adapter=adapter
    )


def test_a_user_page_decodes_to_the_values_pydantic_validates() -> None:
    rows = _parse(json.dumps(USER_PAGE).encode(), USERS)
    models = TypeAdapter(list[UserRecord]).validate_python(USER_PAGE)
    assert all(type(row) is UserRow for row in rows)
    assert [_fields(row) for row in rows] == [model.model_dump() for model in models]


def test_an_enrolment_page_decodes_to_the_values_pydantic_validates() -> None:
    page = [
        {"id": 1, "username": "ann", "roles": [{"roleid": 5, "shortname": "student"}]},
        {"id": 2, "username": "bob", "deleted": True},
    ]
    rows = _parse(json.dumps(page).encode(), ENROLMENTS)
    assert rows == [
        EnrolmentRow(1, "ann", roles=[RoleRow(roleid=5, shortname="student")]),
        EnrolmentRow(2, "bob", deleted=True),
    ]
    assert TypeAdapter(list[Enrolment]).validate_python(page) == [
        {"id": 1, "username": "ann", "roles": [{"roleid": 5, "shortname": "student"}]},
        {"id": 2, "username": "bob", "deleted": True},
    ]


def test_what_msgspec_refuses_is_coerced_by_pydantic_as_before() -> None:
    # Numbers as text and text as numbers: pydantic's lax mode takes both.
    page = [{"id": "12", "username": 345, "suspended": 1, "customfields": []}]
    rows = _parse(json.dumps(page).encode(), USERS)
    assert rows == [UserRow(12, "345", suspended=True)]
    assert type(rows[0]) is UserRow


def test_an_answer_of_the_wrong_shape_gives_pydantic_s_error() -> None:
    with pytest.raises(AnswerShapeError) as caught:
        _parse(json.dumps([{"username": "ann"}]).encode(), USERS)
    assert "unexpected answer at 0.id: Field required" in str(caught.value)
    with pytest.raises(AnswerShapeError) as caught:
        _parse(b'[{"id": 1, "roles": "student"}]', ENROLMENTS)
    assert "unexpected answer at 0.roles" in str(caught.value)


def test_the_users_answer_of_core_user_get_users_is_made_of_rows() -> None:
    body = json.dumps({"users": USER_PAGE[:2], "warnings": []}).encode()
    answer = _parse(body, USERS_ANSWER, "core_user_get_users")
    assert [type(row) for row in answer.users] == [UserRow, UserRow]
    assert [row.username for row in answer.users] == ["ann", "bob"]


def _fields(row: UserRow) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in row.__struct_fields__}
    values["customfields"] = [_custom(f) for f in row.customfields]
    values["roles"] = [{"shortname": r.shortname} for r in row.roles]
    return values


def _custom(field: Any) -> dict[str, Any]:
    return {"shortname": field.shortname, "type": field.type, "value": field.value}
