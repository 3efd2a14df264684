"""core_cohort_* over HTTP."""

from __future__ import annotations

from ws_helpers import call, error_code

from plutoctl.sandbox import Sandbox

SYSTEM = {"type": "system", "value": ""}


def create(sb: Sandbox, *cohorts: dict) -> object:
    return call(
        sb,
        "core_cohort_create_cohorts",
        {"cohorts": [{"categorytype": SYSTEM, **c} for c in cohorts]},
    )


def test_create_then_get(sandbox: Sandbox) -> None:
    created = create(sandbox, {"name": "Sales", "idnumber": "s", "description": "d", "visible": 0})
    assert created[0]["visible"] is False
    assert sandbox.store.cohorts() == {
        "s": {"id": created[0]["id"], "name": "Sales", "description": "d", "visible": False}
    }
    listed = call(sandbox, "core_cohort_get_cohorts")
    assert [c["idnumber"] for c in listed] == ["s"]


def test_create_rolls_back_whole_batch_on_duplicate(sandbox: Sandbox) -> None:
    sandbox.store.add_cohort("taken", "Taken")
    body = create(sandbox, {"name": "New", "idnumber": "new"}, {"name": "Dup", "idnumber": "taken"})
    assert error_code(body) == "invalidparameter"
    assert set(sandbox.store.cohorts()) == {"taken"}


def test_duplicate_within_one_batch_is_refused(sandbox: Sandbox) -> None:
    body = create(sandbox, {"name": "A", "idnumber": "x"}, {"name": "B", "idnumber": "x"})
    assert error_code(body) == "invalidparameter"
    assert sandbox.store.cohorts() == {}


def test_update_changes_fields_and_unknown_id_fails(sandbox: Sandbox) -> None:
    cid = sandbox.store.add_cohort("s", "Sales", "old")
    update = {"id": cid, "categorytype": SYSTEM, "name": "Sales 2", "idnumber": "s", "visible": 0}
    assert call(sandbox, "core_cohort_update_cohorts", {"cohorts": [update]}) is None
    assert sandbox.store.cohorts()["s"] == {
        "id": cid, "name": "Sales 2", "description": "old", "visible": False,
    }  # fmt: skip
    update["id"] = 999
    assert error_code(call(sandbox, "core_cohort_update_cohorts", {"cohorts": [update]})) == (
        "invalidrecord"
    )


def test_delete_removes_members_and_rolls_back_on_unknown(sandbox: Sandbox) -> None:
    store = sandbox.store
    store.add_user("u1")
    a, b = store.add_cohort("a", "A"), store.add_cohort("b", "B")
    store.add_cohort_members("a", ["u1"])
    assert error_code(call(sandbox, "core_cohort_delete_cohorts", {"cohortids": [a, 999]})) == (
        "invalidrecord"
    )
    assert set(store.cohorts()) == {"a", "b"}
    assert call(sandbox, "core_cohort_delete_cohorts", {"cohortids": [a, b]}) is None
    assert store.cohorts() == {}
    body = call(sandbox, "core_cohort_get_cohort_members", {"cohortids": [a]})
    assert error_code(body) == "invalidrecord"


def test_search_pages_by_page_index(sandbox: Sandbox) -> None:
    for i in range(7):
        sandbox.store.add_cohort(f"seg-{i}", f"Segment {i}", description="team")
    sandbox.store.add_cohort("other", "Other")
    pages = []
    for page in range(4):
        params = {"query": "seg", "context": {"contextlevel": "system"}, "includes": "all",
                  "limitfrom": page, "limitnum": 3}  # fmt: skip
        pages.append(
            [c["idnumber"] for c in call(sandbox, "core_cohort_search_cohorts", params)["cohorts"]]
        )
    assert pages == [["seg-0", "seg-1", "seg-2"], ["seg-3", "seg-4", "seg-5"], ["seg-6"], []]


def test_search_matches_wildcards_as_themselves_and_takes_0_as_no_search(
    sandbox: Sandbox,
) -> None:
    """cohort_get_search_query escapes LIKE's wildcards; PHP's empty("0") is true."""
    for idnumber in ("dept-sales", "dept_sales", "100%", "a0b", "plain"):
        sandbox.store.add_cohort(idnumber, idnumber.upper())

    def found(query: str) -> list[str]:
        params = {"query": query, "context": {"contextlevel": "system"}, "includes": "all"}
        answer = call(sandbox, "core_cohort_search_cohorts", params)
        return sorted(c["idnumber"] for c in answer["cohorts"])

    assert found("dept_sales") == ["dept_sales"]
    assert found("0%") == ["100%"]
    assert found("_") == ["dept_sales"]
    assert found("0") == found("") == ["100%", "a0b", "dept-sales", "dept_sales", "plain"]
    assert found("SALES") == ["dept-sales", "dept_sales"]  # without case, as the site


def test_search_rejects_bad_includes(sandbox: Sandbox) -> None:
    params = {"query": "", "context": {"contextlevel": "system"}, "includes": "everything"}
    assert error_code(call(sandbox, "core_cohort_search_cohorts", params)) == "codingerror"


def test_add_members_warnings_and_batch_continues(sandbox: Sandbox) -> None:
    store = sandbox.store
    uid = store.add_user("u1")
    store.add_user("u2")
    cid = store.add_cohort("s", "S")
    store.add_cohort_members("s", ["u1"])
    members = [
        {"cohorttype": {"type": "id", "value": cid}, "usertype": {"type": "id", "value": uid}},
        {"cohorttype": {"type": "name", "value": "S"}, "usertype": {"type": "id", "value": uid}},
        {
            "cohorttype": {"type": "idnumber", "value": "s"},
            "usertype": {"type": "email", "value": "x"},
        },
        {
            "cohorttype": {"type": "idnumber", "value": "nope"},
            "usertype": {"type": "id", "value": uid},
        },
        {
            "cohorttype": {"type": "idnumber", "value": "s"},
            "usertype": {"type": "username", "value": "zz"},
        },
        {
            "cohorttype": {"type": "idnumber", "value": "s"},
            "usertype": {"type": "username", "value": "u2"},
        },
    ]
    body = call(sandbox, "core_cohort_add_cohort_members", {"members": members})
    assert [(w["warningcode"], w["message"]) for w in body["warnings"]] == [
        ("3", f"record already exists: cohort(id={cid} id={uid})"),
        ("1", "invalid parameter: cohortype=name"),
        ("1", "invalid parameter: usertype=email"),
        ("2", "cohort idnumber=nope not exists"),
        ("2", "user username=zz not exists"),
    ]
    assert store.cohort_members("s") == {"u1", "u2"}


def test_add_members_with_a_non_numeric_id_fails_the_whole_call(sandbox: Sandbox) -> None:
    """As a non-numeric user id does on Moodle 4.5 (moodle-differential reference): the
    lookup fails inside the call's try block, so a cohort id fails it alike."""
    store = sandbox.store
    uid, other = store.add_user("u1"), store.add_user("u2")
    cid = store.add_cohort("s", "S")
    for bad in ({"cohorttype": "abc", "usertype": other}, {"cohorttype": cid, "usertype": "x"}):
        members = [
            {"cohorttype": {"type": "id", "value": cid}, "usertype": {"type": "id", "value": uid}},
            {
                "cohorttype": {"type": "id", "value": bad["cohorttype"]},
                "usertype": {"type": "id", "value": bad["usertype"]},
            },
        ]
        body = call(sandbox, "core_cohort_add_cohort_members", {"members": members})
        assert error_code(body) == "Error"
        assert store.cohort_members("s") == set()  # the first item rolled back too


def test_delete_members_all_or_nothing(sandbox: Sandbox) -> None:
    store = sandbox.store
    u1, u2 = store.add_user("u1"), store.add_user("u2")
    cid = store.add_cohort("s", "S")
    store.add_cohort_members("s", ["u1", "u2"])
    bad = [{"cohortid": cid, "userid": u1}, {"cohortid": cid, "userid": 999}]
    assert error_code(call(sandbox, "core_cohort_delete_cohort_members", {"members": bad})) == (
        "invaliduser"
    )
    assert store.cohort_members("s") == {"u1", "u2"}
    good = [{"cohortid": cid, "userid": u1}, {"cohortid": cid, "userid": 1}]  # guest: no-op
    assert call(sandbox, "core_cohort_delete_cohort_members", {"members": good}) is None
    assert store.cohort_members("s") == {"u2"}
    del u2


def test_get_members_of_many_cohorts_in_one_call(sandbox: Sandbox) -> None:
    store = sandbox.store
    zed = store.add_user("zed", "Zed", "Aaron")
    amy = store.add_user("amy", "Amy", "Zimmer")
    a, b, c = store.add_cohort("a", "A"), store.add_cohort("b", "B"), store.add_cohort("c", "C")
    store.add_cohort_members("a", ["amy", "zed"])
    store.add_cohort_members("c", ["amy"])
    body = call(sandbox, "core_cohort_get_cohort_members", {"cohortids": [b, a, c]})
    assert body == [
        {"cohortid": b, "userids": []},
        {"cohortid": a, "userids": [zed, amy]},
        {"cohortid": c, "userids": [amy]},
    ]
    assert sandbox.log.count("core_cohort_get_cohort_members") == 1


def test_get_members_answers_once_per_requested_id_repeats_included(sandbox: Sandbox) -> None:
    """Moodle loops over the ids asked for: a repeated id gets its entry again, in place."""
    store = sandbox.store
    amy = store.add_user("amy")
    a, b = store.add_cohort("a", "A"), store.add_cohort("b", "B")
    store.add_cohort_members("a", ["amy"])
    body = call(sandbox, "core_cohort_get_cohort_members", {"cohortids": [a, b, a, a]})
    assert body == [
        {"cohortid": a, "userids": [amy]},
        {"cohortid": b, "userids": []},
        {"cohortid": a, "userids": [amy]},
        {"cohortid": a, "userids": [amy]},
    ]
