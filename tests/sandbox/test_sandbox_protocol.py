"""The REST protocol over real HTTP: tokens, function lookup, parameters, formats."""

from __future__ import annotations

import json

import pytest
import requests
from ws_helpers import ENDPOINT, call, error_code, post

from plutoctl.lms.functions import FUNCTIONS
from plutoctl.sandbox import Sandbox
from plutoctl.sandbox.functions import registry
from plutoctl.sandbox.params import Kind, Multiple, Single, clean, dflt, nest, opt, req, validate
from plutoctl.sandbox.wserrors import WsParamError


def test_wrong_token_is_invalidtoken(sandbox: Sandbox) -> None:
    body = call(sandbox, "core_webservice_get_site_info", token="nope")
    assert error_code(body) == "invalidtoken"


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", None])
def test_a_body_not_form_encoded_is_not_read(sandbox: Sandbox, content_type: str | None) -> None:
    """PHP reads only a form-encoded POST body into $_POST: any other body leaves the
    call without a token, answered as recorded (step 31: invalidtoken, in XML)."""
    body = (
        f"wstoken={sandbox.token}&wsfunction=core_webservice_get_site_info&moodlewsrestformat=json"
    )
    headers = {"Content-Type": content_type} if content_type else {}
    answer = requests.post(sandbox.url + ENDPOINT, data=body.encode(), headers=headers, timeout=10)
    assert answer.status_code == 200
    assert answer.text == (
        '<?xml version="1.0" encoding="UTF-8" ?>\n'
        '<EXCEPTION class="core\\exception\\moodle_exception">\n'
        "<ERRORCODE>invalidtoken</ERRORCODE>\n"
        "<MESSAGE>Invalid token - token not found</MESSAGE>\n"
        "</EXCEPTION>\n"
    )
    formed = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    answer = requests.post(sandbox.url + ENDPOINT, data=body.encode(), headers=formed, timeout=10)
    assert answer.json()["username"] == "admin"


def test_token_is_random_per_database(make_sandbox) -> None:
    assert make_sandbox().token != make_sandbox().token


def test_token_persists_in_a_database_file(tmp_path) -> None:
    with Sandbox.start(tmp_path / "lms.db") as first:
        token = first.token
    with Sandbox.start(tmp_path / "lms.db") as second:
        assert second.token == token
        assert error_code(call(second, "core_webservice_get_site_info")) is None


def test_unknown_function_is_invalidrecord(sandbox: Sandbox) -> None:
    assert error_code(call(sandbox, "core_no_such_thing")) == "invalidrecord"


def test_function_outside_the_service_is_accessexception(make_sandbox) -> None:
    sb = make_sandbox(functions=["core_webservice_get_site_info"])
    assert error_code(call(sb, "core_cohort_get_cohorts")) == "accessexception"
    info = call(sb, "core_webservice_get_site_info")
    assert [f["name"] for f in info["functions"]] == ["core_webservice_get_site_info"]


def test_site_info_lists_every_implemented_function(sandbox: Sandbox) -> None:
    info = call(sandbox, "core_webservice_get_site_info")
    names = [f["name"] for f in info["functions"]]
    assert sorted(names) == sorted(registry())  # each once
    missing = set(FUNCTIONS) - set(names)
    assert not missing, f"plutoctl calls functions the sandbox lacks: {sorted(missing)}"
    assert info["release"] == "4.5 (Build: 20241007)"
    assert info["version"] == "2024100700"
    assert info["siteurl"] == sandbox.url


def test_missing_function_name_with_debuginfo(make_sandbox) -> None:
    sb = make_sandbox(debug=True)
    body = call(sb, None)  # type: ignore[arg-type]
    assert body["errorcode"] == "invalidparameter"
    assert body["debuginfo"] == "Missing function name"


def test_get_works_like_post(sandbox: Sandbox) -> None:
    response = requests.get(
        sandbox.url + ENDPOINT,
        params={
            "wstoken": sandbox.token,
            "wsfunction": "core_cohort_get_cohorts",
            "moodlewsrestformat": "json",
        },
        timeout=10,
    )
    assert response.json() == []


def test_other_paths_are_404(sandbox: Sandbox) -> None:
    assert requests.get(sandbox.url + "/login/index.php", timeout=10).status_code == 404


def test_xml_is_the_default_format(sandbox: Sandbox) -> None:
    sandbox.store.add_cohort("c1", "One")
    text = post(sandbox, "core_cohort_get_cohorts", fmt=None).text
    assert text.startswith('<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE>\n<MULTIPLE>')
    assert '<KEY name="idnumber"><VALUE>c1</VALUE>' in text


def test_names_are_formatted_unless_raw(sandbox: Sandbox) -> None:
    sandbox.store.add_cohort("c1", "R&D <b>team</b>")
    assert call(sandbox, "core_cohort_get_cohorts")[0]["name"] == "R&D <b>team</b>"
    formatted = call(sandbox, "core_cohort_get_cohorts", raw=False)
    assert formatted[0]["name"] == "R&amp;D team"


def test_json_escapes_slashes_like_php(sandbox: Sandbox) -> None:
    text = post(sandbox, "core_webservice_get_site_info").text
    assert '"siteurl":"http:\\/\\/127.0.0.1' in text
    assert json.loads(text)["siteurl"].startswith("http://127.0.0.1")


def test_max_input_vars_drops_the_tail_silently(make_sandbox) -> None:
    sb = make_sandbox(max_input_vars=10)
    ids = [sb.store.add_cohort(f"c{i}", f"C{i}") for i in range(10)]
    # 4 reserved variables + 10 ids: PHP keeps 11 variables, so the first 7 ids arrive.
    body = call(sb, "core_cohort_get_cohorts", {"cohortids": ids})
    assert [c["id"] for c in body] == ids[:7]
    assert sb.log[-1].param_count == 14


def test_max_input_vars_can_drop_a_required_key(make_sandbox) -> None:
    sb = make_sandbox(max_input_vars=3)  # keeps 4 variables: the reserved ones only
    body = call(sb, "core_cohort_get_cohort_members", {"cohortids": [1]})
    assert body["errorcode"] == "invalidparameter"


# --- parameter parsing and validation (no HTTP) ---------------------------------------


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        ([("a", "1")], {"a": "1"}),
        ([("a[0][b]", "x"), ("a[0][c]", "y")], {"a": {"0": {"b": "x", "c": "y"}}}),
        ([("v[]", "1"), ("v[]", "2")], {"v": {"0": "1", "1": "2"}}),
        ([("a", "1"), ("a", "2")], {"a": "2"}),
    ],
    ids=["scalar", "nested", "append", "last-wins"],
)
def test_nest_builds_php_arrays(pairs, expected) -> None:
    assert nest(pairs) == expected


DESC = Single(
    {
        "items": Multiple(Single({"id": req(Kind.INT), "name": opt(Kind.TEXT)})),
        "flag": dflt(Kind.BOOL, False),
    }
)


@pytest.mark.parametrize(
    ("params", "debuginfo"),
    [
        ({}, "Missing required key in single structure: items"),
        (
            {"items": {"0": {"name": "x"}}},
            "items => Invalid parameter value detected: "
            "Missing required key in single structure: id",
        ),
        (
            {"items": {"0": {"id": "12a"}}},
            "items => Invalid parameter value detected: id => Invalid parameter value detected: "
            'Invalid external api parameter: the value is "12a", '
            'the server was expecting "int" type',
        ),
        ({"items": {}, "extra": "1"}, "Unexpected keys (extra) detected in parameter array."),
        (
            {"items": {}, "flag": "true"},
            "flag => Invalid parameter value detected: Invalid external api parameter: the value "
            'is "true", the server was expecting "bool" type',
        ),
        (
            {"items": {"0": {"id": "1", "name": "<b>x</b>"}}},
            "items => Invalid parameter value detected: name => Invalid parameter value detected: "
            'Invalid external api parameter: the value is "<b>x</b>", the server was expecting '
            '"text" type',
        ),
        (
            {"items": {"0": {"id": "1", "name": "Year<7"}}},
            "items => Invalid parameter value detected: name => Invalid parameter value detected: "
            'Invalid external api parameter: the value is "Year<7", the server was expecting '
            '"text" type',
        ),
    ],
    ids=[
        "missing",
        "nested-missing",
        "bad-int",
        "unexpected",
        "bad-bool",
        "tags-in-text",
        "open-tag-in-text",
    ],
)
def test_validate_rejects_like_moodle(params, debuginfo) -> None:
    with pytest.raises(WsParamError) as caught:
        validate(DESC, params)
    assert caught.value.errorcode == "invalidparameter"
    assert caught.value.debuginfo == debuginfo


@pytest.mark.parametrize("name", ["a < b > c", "5 > 3", "x < "])
def test_text_keeps_what_strip_tags_keeps(name: str) -> None:
    """PHP's strip_tags opens a tag only at a "<" not followed by white space."""
    assert validate(DESC, {"items": {"0": {"id": "1", "name": name}}})["items"][0]["name"] == name


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (Kind.INT, "0", 0),
        (Kind.INT, "-5", -5),
        (Kind.INT, "10", 10),
        (Kind.INT, "01", None),
        (Kind.INT, "00", None),
        (Kind.INT, "-0", None),
        (Kind.INT, "+1", None),
        (Kind.INT, " 1", None),
        (Kind.INT, "\u0661", None),
        (Kind.INT, "", None),
        (Kind.INT, str(2**63 - 1), 2**63 - 1),
        (Kind.INT, str(2**63), None),  # PHP's (int) saturates at 64 bits: it changes
        (Kind.INT, str(-(2**63) - 1), None),
        (Kind.BOOL, "0", False),
        (Kind.BOOL, "1", True),
        (Kind.BOOL, "", None),
        (Kind.BOOL, "true", None),
        (Kind.BOOL, "2", None),
    ],
    ids=[
        *("int-0", "int-negative", "int-10", "int-zero-padded", "int-00", "int-minus-0"),
        *("int-plus", "int-space", "int-arabic-digit", "int-empty"),
        *("int-64-bit-max", "int-past-64-bits", "int-below-64-bits"),
        *("bool-0", "bool-1", "bool-empty", "bool-true", "bool-2"),
    ],
)
def test_clean_refuses_what_php_would_change(kind: Kind, value: str, expected: object) -> None:
    """validate_param() refuses a value whose cleaned form reads differently: (int) "01"
    is 1, and PARAM_BOOL takes only true, false, 0, 1, '0' and '1' as they are."""
    assert clean(kind, value) == expected


def test_validate_fills_defaults_and_converts() -> None:
    args = validate(DESC, {"items": {"0": {"id": "7"}, "1": {"id": "-2", "name": "n"}}})
    assert args == {"items": [{"id": 7}, {"id": -2, "name": "n"}], "flag": False}
