"""core_user_* over HTTP, custom profile fields included."""

from __future__ import annotations

from ws_helpers import call, error_code

from plutoctl.sandbox import Sandbox


def seeded(sb: Sandbox) -> int:
    store = sb.store
    store.add_profile_field("department", "menu", ["Sales", "HR"], name="Department")
    store.add_profile_field("region", "text")
    store.add_profile_field("remote", "checkbox")
    return store.add_user(
        "jdoe",
        "Jane",
        "Doe",
        idnumber="E1",
        city="Oslo",
        custom={"department": "Sales", "remote": "1"},
    )


def test_get_users_by_field_shape_and_customfields(sandbox: Sandbox) -> None:
    uid = seeded(sandbox)
    [user] = call(
        sandbox, "core_user_get_users_by_field", {"field": "username", "values": ["jdoe", "ghost"]}
    )
    assert user["id"] == uid
    assert user["fullname"] == "Jane Doe"
    assert user["idnumber"] == "E1"
    assert user["city"] == "Oslo"
    assert user["suspended"] is False
    assert user["customfields"] == [
        {
            "type": "menu",
            "value": "Sales",
            "displayvalue": "Sales",
            "name": "Department",
            "shortname": "department",
        },
        {
            "type": "checkbox",
            "value": "1",
            "displayvalue": "Yes",
            "name": "Remote",
            "shortname": "remote",
        },
    ]


def test_get_users_by_field_rejects_bad_field_and_values(sandbox: Sandbox) -> None:
    assert (
        error_code(
            call(sandbox, "core_user_get_users_by_field", {"field": "city", "values": ["x"]})
        )
        == "codingerror"
    )
    assert (
        error_code(call(sandbox, "core_user_get_users_by_field", {"field": "id", "values": ["x"]}))
        == "invalidparameter"
    )
    by_id = call(sandbox, "core_user_get_users_by_field", {"field": "id", "values": [2, 1]})
    assert [u["username"] for u in by_id] == ["guest", "admin"]


def test_get_users_criteria(sandbox: Sandbox) -> None:
    seeded(sandbox)
    body = call(sandbox, "core_user_get_users", {"criteria": [{"key": "email", "value": "%"}]})
    assert [u["username"] for u in body["users"]] == ["guest", "admin", "jdoe"]
    body = call(
        sandbox,
        "core_user_get_users",
        {"criteria": [{"key": "lastname", "value": "doe"}, {"key": "bogus", "value": "x"}]},
    )
    assert [u["username"] for u in body["users"]] == ["jdoe"]
    assert body["warnings"][0]["warningcode"] == "invalidfieldparameter"
    twice = {"criteria": [{"key": "id", "value": "1"}, {"key": "id", "value": "2"}]}
    assert error_code(call(sandbox, "core_user_get_users", twice)) == "keyalreadyset"


def test_get_users_leaves_out_users_whose_searched_field_is_empty(sandbox: Sandbox) -> None:
    """As Moodle's get_users: a user whose details lack a searched field (empty, or
    hidden from the caller) is dropped after the query, whatever the pattern."""
    seeded(sandbox)
    with sandbox.store.transaction() as db:
        db.execute("UPDATE user SET email = '' WHERE username = 'jdoe'")
    body = call(sandbox, "core_user_get_users", {"criteria": [{"key": "email", "value": "%"}]})
    assert [u["username"] for u in body["users"]] == ["guest", "admin"]
    body = call(sandbox, "core_user_get_users", {"criteria": [{"key": "idnumber", "value": ""}]})
    assert body["users"] == []


def test_create_users_all_or_nothing(sandbox: Sandbox) -> None:
    seeded(sandbox)
    new = {
        "username": "new1",
        "password": "x",
        "firstname": "N",
        "lastname": "One",
        "email": "n1@example.com",
    }
    dup = {**new, "username": "jdoe", "email": "other@example.com"}
    assert (
        error_code(call(sandbox, "core_user_create_users", {"users": [new, dup]}))
        == "invalidparameter"
    )
    assert sandbox.store.user_count() == 3
    [created] = call(
        sandbox,
        "core_user_create_users",
        {"users": [{**new, "customfields": [{"type": "region", "value": "emea"}]}]},
    )
    assert created["username"] == "new1"
    [user] = call(
        sandbox, "core_user_get_users_by_field", {"field": "id", "values": [created["id"]]}
    )
    assert user["customfields"][0]["value"] == "emea"


def test_create_user_needs_password_and_lowercase_username(sandbox: Sandbox) -> None:
    user = {"username": "abc", "firstname": "A", "lastname": "B", "email": "a@example.com"}
    assert (
        error_code(call(sandbox, "core_user_create_users", {"users": [user]})) == "invalidparameter"
    )
    upper = {**user, "username": "ABC", "password": "x"}
    assert (
        error_code(call(sandbox, "core_user_create_users", {"users": [upper]}))
        == "invalidparameter"
    )


def test_update_users_menu_rules_and_warnings(sandbox: Sandbox) -> None:
    uid = seeded(sandbox)

    def department() -> str | None:
        [user] = call(sandbox, "core_user_get_users_by_field", {"field": "id", "values": [uid]})
        fields = {f["shortname"]: f["value"] for f in user.get("customfields", [])}
        return fields.get("department")

    update = {"id": uid, "customfields": [{"type": "department", "value": "HR"}]}
    assert call(sandbox, "core_user_update_users", {"users": [update]}) == {"warnings": []}
    assert department() == "HR"
    update["customfields"][0]["value"] = "hr"  # not an option: cleared, no warning
    assert call(sandbox, "core_user_update_users", {"users": [update]}) == {"warnings": []}
    assert department() is None
    body = call(
        sandbox,
        "core_user_update_users",
        {"users": [{"id": 999, "suspended": 1}, {"id": uid, "suspended": 1}]},
    )
    assert [(w["itemid"], w["warningcode"]) for w in body["warnings"]] == [(999, "invaliduserid")]
    [user] = call(sandbox, "core_user_get_users_by_field", {"field": "id", "values": [uid]})
    assert user["suspended"] is True


def test_set_profile_from_the_store(sandbox: Sandbox) -> None:
    uid = seeded(sandbox)
    sandbox.store.set_profile("jdoe", region="apac", remote="")
    [user] = call(sandbox, "core_user_get_users_by_field", {"field": "id", "values": [uid]})
    assert {f["shortname"] for f in user["customfields"]} == {"department", "region"}
