"""core_course_*, core_group_* and enrolment functions over HTTP."""

from __future__ import annotations

from ws_helpers import call, error_code

from plutoctl.sandbox import Sandbox


def course_with_users(sb: Sandbox) -> tuple[int, int, int]:
    store = sb.store
    course = store.add_course("C1", "Course one")
    u1, u2 = store.add_user("u1"), store.add_user("u2")
    store.enrol("u1", "C1")
    return course, u1, u2


def test_courses_create_get_and_by_field(sandbox: Sandbox) -> None:
    created = call(
        sandbox,
        "core_course_create_courses",
        {"courses": [{"fullname": "Onboarding", "shortname": "ONB", "categoryid": 1}]},
    )
    cid = created[0]["id"]
    dup = {"courses": [{"fullname": "Again", "shortname": "ONB", "categoryid": 1}]}
    assert error_code(call(sandbox, "core_course_create_courses", dup)) == "shortnametaken"
    every = call(sandbox, "core_course_get_courses")
    assert [c["shortname"] for c in every] == ["sandbox", "ONB"]
    assert every[0]["format"] == "site"
    found = call(
        sandbox, "core_course_get_courses_by_field", {"field": "shortname", "value": "ONB"}
    )
    assert [c["id"] for c in found["courses"]] == [cid]
    assert found["courses"][0]["enrollmentmethods"] == ["manual"]
    # With no field Moodle 4.5 lists every course, the front page (id 1) first.
    listed = call(sandbox, "core_course_get_courses_by_field")["courses"]
    assert [c["id"] for c in listed] == [1, cid]
    bad = call(sandbox, "core_course_get_courses_by_field", {"field": "colour", "value": "x"})
    assert error_code(bad) == "invalidparameter"


def test_group_create_clashes(sandbox: Sandbox) -> None:
    course, _, _ = course_with_users(sandbox)
    group = {"courseid": course, "name": "Sales", "description": "", "idnumber": "g1"}
    [made] = call(sandbox, "core_group_create_groups", {"groups": [group]})
    assert made["participation"] is True and made["visibility"] == 0
    same_name = {**group, "idnumber": "g2"}
    assert error_code(call(sandbox, "core_group_create_groups", {"groups": [same_name]})) == (
        "invalidparameter"
    )
    same_idnumber = {**group, "name": "Other"}
    body = call(sandbox, "core_group_create_groups", {"groups": [same_idnumber]})
    assert error_code(body) == "idnumbertaken"
    assert set(sandbox.store.groups("C1")) == {"g1"}


def test_group_names_and_idnumbers_are_stored_trimmed(sandbox: Sandbox) -> None:
    """groups_create_group() and groups_update_group() trim both (group/lib.php)."""
    course, _, _ = course_with_users(sandbox)
    group = {"courseid": course, "name": "Sales ", "description": "", "idnumber": " g1 "}
    [made] = call(sandbox, "core_group_create_groups", {"groups": [group]})
    assert (made["name"], made["idnumber"]) == ("Sales", "g1")
    update = {"id": made["id"], "name": " Sales team", "idnumber": "g1 "}
    call(sandbox, "core_group_update_groups", {"groups": [update]})
    [listed] = call(sandbox, "core_group_get_course_groups", {"courseid": course})
    assert (listed["name"], listed["idnumber"]) == ("Sales team", "g1")


def test_group_update_get_and_delete(sandbox: Sandbox) -> None:
    course, u1, _ = course_with_users(sandbox)
    gid = sandbox.store.add_group("C1", "Sales", "g1", "old")
    other = sandbox.store.add_group("C1", "HR", "g2")
    update = {"id": gid, "name": "Sales team", "description": "new"}
    assert call(sandbox, "core_group_update_groups", {"groups": [update]}) is None
    assert sandbox.store.groups("C1")["g1"]["name"] == "Sales team"
    clash = {"id": gid, "name": "HR"}
    assert error_code(call(sandbox, "core_group_update_groups", {"groups": [clash]})) == (
        "invalidparameter"
    )
    sandbox.store.add_group_members("C1", "g1", ["u1"])
    frozen = {"id": gid, "name": "Sales team", "visibility": 1}
    assert error_code(call(sandbox, "core_group_update_groups", {"groups": [frozen]})) == (
        "invalidparameter"
    )
    listed = call(sandbox, "core_group_get_course_groups", {"courseid": course})
    assert [g["name"] for g in listed] == ["HR", "Sales team"]
    [got] = call(sandbox, "core_group_get_groups", {"groupids": [gid]})
    assert got["customfields"] == []
    assert error_code(call(sandbox, "core_group_get_groups", {"groupids": [999]})) == (
        "invalidrecord"
    )
    assert call(sandbox, "core_group_delete_groups", {"groupids": [gid, 999]}) is None
    assert set(sandbox.store.groups("C1")) == {"g2"}
    assert call(sandbox, "core_group_get_group_members", {"groupids": [other]}) == [
        {"groupid": other, "userids": []}
    ]
    del u1


def test_group_members_enrolled_only_all_or_nothing(sandbox: Sandbox) -> None:
    _, u1, u2 = course_with_users(sandbox)
    gid = sandbox.store.add_group("C1", "Sales", "g1")
    both = [{"groupid": gid, "userid": u1}, {"groupid": gid, "userid": u2}]
    body = call(sandbox, "core_group_add_group_members", {"members": both})
    assert error_code(body) == "invalidparameter"
    assert sandbox.store.group_members("C1", "g1") == set()
    assert call(sandbox, "core_group_add_group_members", {"members": both[:1] * 2}) is None
    assert call(sandbox, "core_group_get_group_members", {"groupids": [gid]}) == [
        {"groupid": gid, "userids": [u1]}
    ]
    remove = [{"groupid": gid, "userid": u1}, {"groupid": gid, "userid": u2}]
    assert call(sandbox, "core_group_delete_group_members", {"members": remove}) is None
    assert sandbox.store.group_members("C1", "g1") == set()
    unknown = [{"groupid": gid, "userid": 999}]
    assert error_code(call(sandbox, "core_group_delete_group_members", {"members": unknown})) == (
        "invaliduser"
    )


def test_enrol_and_unenrol(sandbox: Sandbox) -> None:
    course, u1, u2 = course_with_users(sandbox)
    enrol = [
        {"roleid": 5, "userid": u2, "courseid": course},
        {"roleid": 3, "userid": u1, "courseid": course},
    ]
    assert call(sandbox, "enrol_manual_enrol_users", {"enrolments": enrol}) is None
    assert sandbox.store.enrolments("C1") == {
        "u1": {"student", "editingteacher"},
        "u2": {"student"},
    }
    bad_role = [{"roleid": 6, "userid": u2, "courseid": course}]
    assert error_code(call(sandbox, "enrol_manual_enrol_users", {"enrolments": bad_role})) == (
        "wsusercannotassign"
    )
    site = [{"roleid": 5, "userid": u2, "courseid": 1}]
    assert (
        error_code(call(sandbox, "enrol_manual_enrol_users", {"enrolments": site}))
        == "wsnoinstance"
    )
    sandbox.store.add_group("C1", "G", "g")
    sandbox.store.add_group_members("C1", "g", ["u1"])
    unenrol = [{"userid": u1, "courseid": course}]
    assert call(sandbox, "enrol_manual_unenrol_users", {"enrolments": unenrol}) is None
    assert sandbox.store.enrolments("C1") == {"u2": {"student"}}
    assert sandbox.store.group_members("C1", "g") == set()


def test_enrolment_methods_is_empty_like_a_real_site(sandbox: Sandbox) -> None:
    course, _, _ = course_with_users(sandbox)
    assert call(sandbox, "core_enrol_get_course_enrolment_methods", {"courseid": course}) == []


def test_enrolled_users_on_site_course_pages_everyone(sandbox: Sandbox) -> None:
    sandbox.store.add_profile_field("department", "menu", ["Sales"], name="Department")
    for i in range(5):
        sandbox.store.add_user(f"p{i}", custom={"department": "Sales"} if i == 0 else None)

    def page(start: int, size: int) -> list[dict]:
        options = [
            {"name": "userfields", "value": "id,username,customfields"},
            {"name": "limitfrom", "value": start},
            {"name": "limitnumber", "value": size},
        ]
        return call(sandbox, "core_enrol_get_enrolled_users", {"courseid": 1, "options": options})

    first = page(0, 3)
    assert first == [
        {"id": 1, "username": "guest", "fullname": "Guest user  "},
        {"id": 2, "username": "admin", "fullname": "Admin User"},
        {
            "id": 3,
            "username": "p0",
            "fullname": "Test User",
            "customfields": [
                {"type": "menu", "value": "Sales", "name": "Department", "shortname": "department"}
            ],
        },
    ]
    assert [u["username"] for u in page(3, 3)] == ["p1", "p2", "p3"]
    assert [u["username"] for u in page(6, 3)] == ["p4"]


def test_enrolled_users_of_a_course_with_roles_and_groups(sandbox: Sandbox) -> None:
    course, u1, _ = course_with_users(sandbox)
    gid = sandbox.store.add_group("C1", "Sales", "g1", "desc")
    sandbox.store.add_group_members("C1", "g1", ["u1"])
    options = [{"name": "userfields", "value": "id,username,roles,groups"}]
    body = call(sandbox, "core_enrol_get_enrolled_users", {"courseid": course, "options": options})
    assert body == [
        {
            "id": u1,
            "username": "u1",
            "fullname": "Test User",
            "roles": [
                {"roleid": 5, "name": "", "shortname": "student", "sortorder": 0}
            ],  # as recorded
            "groups": [{"id": gid, "name": "Sales", "description": "desc", "descriptionformat": 1}],
        }
    ]
    full = call(sandbox, "core_enrol_get_enrolled_users", {"courseid": course})
    assert full[0]["email"] == "u1@example.com"
    # Moodle 4.5 reads the course record first (recorded): a missing course is invalidrecord.
    assert error_code(call(sandbox, "core_enrol_get_enrolled_users", {"courseid": 999})) == (
        "invalidrecord"
    )


def test_enrolling_a_suspended_enrolment_again_makes_it_active(sandbox: Sandbox) -> None:
    """moodle-ws reference §7.2: re-enrolling updates the enrolment; Moodle's enrol_user
    sets its status from ``suspend``, so without it the enrolment is active again."""
    course, _u1, u2 = course_with_users(sandbox)

    def active() -> set[str]:
        options = [{"name": "onlyactive", "value": "1"}]
        answer = call(
            sandbox, "core_enrol_get_enrolled_users", {"courseid": course, "options": options}
        )
        return {user["username"] for user in answer}

    suspended = [{"roleid": 5, "userid": u2, "courseid": course, "suspend": 1}]
    assert call(sandbox, "enrol_manual_enrol_users", {"enrolments": suspended}) is None
    assert "u2" not in active() and "u2" in sandbox.store.enrolments("C1")
    again = [{"roleid": 3, "userid": u2, "courseid": course}]
    assert call(sandbox, "enrol_manual_enrol_users", {"enrolments": again}) is None
    assert "u2" in active()
    assert sandbox.store.enrolments("C1")["u2"] == {"student", "editingteacher"}


def test_get_group_members_answers_once_per_requested_id_repeats_included(
    sandbox: Sandbox,
) -> None:
    """Moodle loops over the ids asked for: a repeated id gets its entry again, in place."""
    _, u1, _ = course_with_users(sandbox)
    g1 = sandbox.store.add_group("C1", "Sales", "g1")
    g2 = sandbox.store.add_group("C1", "HR", "g2")
    sandbox.store.add_group_members("C1", "g1", ["u1"])
    body = call(sandbox, "core_group_get_group_members", {"groupids": [g1, g2, g1, g1]})
    assert body == [
        {"groupid": g1, "userids": [u1]},
        {"groupid": g2, "userids": []},
        {"groupid": g1, "userids": [u1]},
        {"groupid": g1, "userids": [u1]},
    ]


def test_get_group_members_lists_users_by_lastname_then_firstname(sandbox: Sandbox) -> None:
    """groups_get_members(..., 'lastname ASC, firstname ASC'); the sandbox breaks ties by id."""
    store = sandbox.store
    store.add_course("C1")
    names = [
        ("a", "Zoe", "Adams"),
        ("b", "Amy", "Brown"),
        ("c", "Amy", "Adams"),
        ("d", "Amy", "Adams"),
    ]
    ids = {}
    for username, firstname, lastname in names:
        ids[username] = store.add_user(username, firstname, lastname)
        store.enrol(username, "C1")
    gid = store.add_group("C1", "Sales", "g1")
    store.add_group_members("C1", "g1", ["a", "b", "c", "d"])
    body = call(sandbox, "core_group_get_group_members", {"groupids": [gid]})
    assert body == [{"groupid": gid, "userids": [ids["c"], ids["d"], ids["a"], ids["b"]]}]
