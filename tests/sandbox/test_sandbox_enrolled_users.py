"""core_enrol_get_enrolled_users' options, as Moodle 4.5's enrol/externallib.php reads them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from ws_helpers import call, error_code

from plutoctl.sandbox import Sandbox

FUNCTION = "core_enrol_get_enrolled_users"


def listed(sb: Sandbox, course: int, **options: str) -> Any:
    """Call the function with ``options`` (name → value) and return the decoded body."""
    pairs = [{"name": name, "value": value} for name, value in options.items()]
    return call(sb, FUNCTION, {"courseid": course, "options": pairs})


def test_an_unknown_sortby_or_sortdirection_is_refused(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    sb = make_sandbox(debug=True)
    refused = listed(sb, 1, sortby="username")
    assert error_code(refused) == "invalidparameter"
    assert refused["debuginfo"] == (
        "Invalid value for sortby parameter (value: username),"
        "allowed values are: id,firstname,lastname,siteorder"
    )
    assert error_code(listed(sb, 1, sortby="ID")) == "invalidparameter"  # case counts
    refused = listed(sb, 1, sortdirection="down")
    assert error_code(refused) == "invalidparameter"
    assert "(value: DOWN),allowed values are: ASC,DESC" in refused["debuginfo"]  # uppercased
    assert [u["id"] for u in listed(sb, 1, sortby="id", sortdirection="desc")] == [2, 1]
    # The options are read before the course: a bad one fails a missing course too.
    assert error_code(listed(sb, 999, sortby="email")) == "invalidparameter"


def test_siteorder_sorts_by_lastname_then_firstname_then_id(sandbox: Sandbox) -> None:
    course = sandbox.store.add_course("C1")
    names = [
        ("a", "Zoe", "Adams"),
        ("b", "Amy", "Brown"),
        ("c", "Amy", "Adams"),
        ("d", "Amy", "Adams"),
    ]
    for username, firstname, lastname in names:
        sandbox.store.add_user(username, firstname, lastname)
        sandbox.store.enrol(username, "C1")
    order = [
        u["username"] for u in listed(sandbox, course, sortby="siteorder", userfields="username")
    ]
    assert order == ["c", "d", "a", "b"]
    # users_order_by_sql() gives "lastname, firstname, id": the direction binds to id only.
    backwards = listed(
        sandbox, course, sortby="siteorder", sortdirection="DESC", userfields="username"
    )
    assert [u["username"] for u in backwards] == ["d", "c", "a", "b"]


@pytest.mark.parametrize(
    ("value", "is_active"),
    [("1", True), ("true", True), ("yes", True), ("2", True), ("0", False), ("", False)],
    ids=["1", "true", "yes", "2", "0", "empty"],
)
def test_onlyactive_is_on_for_any_non_empty_value_but_0(
    sandbox: Sandbox, value: str, is_active: bool
) -> None:
    course = sandbox.store.add_course("C1")
    for username in ("on", "off"):
        sandbox.store.add_user(username)
        sandbox.store.enrol(username, "C1")
    off = [{"roleid": 5, "userid": sandbox.store.user_id("off"), "courseid": course, "suspend": 1}]
    assert call(sandbox, "enrol_manual_enrol_users", {"enrolments": off}) is None
    users = {u["username"] for u in listed(sandbox, course, onlyactive=value)}
    assert users == ({"on"} if is_active else {"on", "off"})


@pytest.mark.parametrize(
    "userfields", ["id,username,", "", "id,,username"], ids=["trailing-comma", "empty", "gap"]
)
def test_an_empty_userfields_entry_is_an_invalid_field(sandbox: Sandbox, userfields: str) -> None:
    body = listed(sandbox, 1, userfields=userfields)
    assert error_code(body) == "invaliduserfield"
    assert body["message"] == "Invalid user field: "


def test_userfields_entries_are_cleaned_and_checked_in_order(sandbox: Sandbox) -> None:
    # PARAM_ALPHANUMEXT drops what it does not allow: " user name" is "username".
    assert listed(sandbox, 1, userfields="id, user name", limitnumber="1") == [
        {"id": 1, "username": "guest", "fullname": "Guest user  "}
    ]
    # Several userfields options add up.
    options = [
        {"name": "userfields", "value": "username"},
        {"name": "userfields", "value": "email"},
    ]
    body = call(sandbox, FUNCTION, {"courseid": 1, "options": options})
    assert sorted(body[1]) == ["email", "fullname", "id", "username"]
    # The first field (in the order asked) that is not a user field is the one named.
    assert listed(sandbox, 1, userfields="zeta,alpha")["message"] == "Invalid user field: zeta"


def test_paging_options_are_cast_as_php_casts_to_int(sandbox: Sandbox) -> None:
    """clean_param(PARAM_INT) is PHP's (int): the leading number, else 0; nothing refused."""
    for n in range(3):
        sandbox.store.add_user(f"u{n}")
    ids = [u["id"] for u in listed(sandbox, 1, userfields="id", limitfrom="01", limitnumber="2abc")]
    assert ids == [2, 3]
    assert len(listed(sandbox, 1, userfields="id", limitnumber="abc")) == 5
