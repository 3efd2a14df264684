"""Mapping an answer to a value or a typed error, and redacting the token (no HTTP)."""

from __future__ import annotations

import json

import pytest
from pydantic import TypeAdapter

from plutoctl.errors import (
    AccessDeniedError,
    BadResponseError,
    InvalidParameterError,
    InvalidTokenError,
    LmsError,
    MissingRecordError,
    PermissionDeniedError,
    TransportError,
    WebServiceDisabledError,
)
from plutoctl.lms.client import RetryPolicy
from plutoctl.lms.responses import AnswerShapeError, parse_response, site_info_of

TOKEN = "0123456789abcdef0123456789abcdef"


def answer(body: bytes | str | object, status: int = 200, retry_after: str | None = None):
    if not isinstance(body, bytes | str):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    return parse_response(
        site="primary",
        function="core_x",
        status=status,
        body=body,
        token=TOKEN,
        retry_after=retry_after,
    )


def exception_body(errorcode: str, exception: str = "core\\exception\\moodle_exception") -> dict:
    return {"exception": exception, "errorcode": errorcode, "message": "Something"}


@pytest.mark.parametrize(
    ("errorcode", "cls"),
    [
        ("invalidtoken", InvalidTokenError),
        ("accessexception", AccessDeniedError),
        ("invalidparameter", InvalidParameterError),
        ("invalidrecord", MissingRecordError),
        ("invalidrecordunknown", MissingRecordError),
        ("invaliduser", MissingRecordError),
        ("nopermissions", PermissionDeniedError),
        ("requireloginerror", PermissionDeniedError),
        ("restrictedcontextexception", PermissionDeniedError),
    ],
    ids=lambda v: v if isinstance(v, str) else v.__name__,
)
def test_error_class_is_chosen_by_errorcode(errorcode: str, cls: type[LmsError]) -> None:
    with pytest.raises(cls) as caught:
        answer(exception_body(errorcode))
    error = caught.value
    assert type(error) is cls
    assert (error.site, error.function, error.errorcode) == ("primary", "core_x", errorcode)
    assert error.hint
    assert "site 'primary', core_x" in str(error)


@pytest.mark.parametrize(
    ("errorcode", "advice"),
    [
        ("sitemaintenance", "maintenance mode: run again once it is back"),
        ("servicerequireslogin", "Authorised users"),
        ("wsaccessusersuspended", "mend the account"),
        ("wsaccessusernologin", "'No login' authentication"),
    ],
)
def test_what_the_token_or_the_site_cannot_do_now_is_given_its_own_advice(
    errorcode: str, advice: str
) -> None:
    """A suspended token user was told to add the function to the service."""
    with pytest.raises(LmsError) as caught:
        answer(exception_body(errorcode))
    assert caught.value.errorcode == errorcode
    assert advice in (caught.value.hint or "")


@pytest.mark.parametrize(
    "exception",
    ["invalid_parameter_exception", "core\\exception\\invalid_parameter_exception", "whatever"],
)
def test_exception_class_name_does_not_matter(exception: str) -> None:
    with pytest.raises(InvalidParameterError):
        answer(exception_body("invalidparameter", exception))


def test_unknown_errorcode_is_a_plain_lms_error() -> None:
    with pytest.raises(LmsError) as caught:
        answer(exception_body("idnumbertaken"))
    assert type(caught.value) is LmsError
    assert caught.value.errorcode == "idnumbertaken"


def test_invalid_token_says_the_token_was_refused() -> None:
    with pytest.raises(InvalidTokenError, match="refused the token"):
        answer(exception_body("invalidtoken"))


@pytest.mark.parametrize("body", [None, [], [{"id": 1}], {"warnings": []}, 5])
def test_success_bodies_are_returned(body: object) -> None:
    assert answer(body) == body


def test_forbidden_with_empty_body_means_web_services_disabled() -> None:
    with pytest.raises(WebServiceDisabledError, match="web services or the REST protocol"):
        answer(b"", status=403)


def test_non_json_answer_quotes_its_first_bytes() -> None:
    with pytest.raises(BadResponseError, match=r"not JSON; it begins '<html><title>Login"):
        answer(b"<html><title>Login page</title>" + b"x" * 500)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retryable_statuses_raise_a_transport_error(status: int) -> None:
    with pytest.raises(Exception) as caught:
        answer(b"", status=status, retry_after="7")
    failure = caught.value
    assert isinstance(failure.error, TransportError)
    assert failure.error.errorcode == f"http{status}"
    assert failure.retry_after == 7.0


def test_other_statuses_are_bad_responses() -> None:
    with pytest.raises(BadResponseError, match="HTTP 404"):
        answer(b"Not found", status=404)


# --- the token never appears ------------------------------------------------------------


def test_token_echoed_in_a_message_is_redacted() -> None:
    body = {
        "exception": "moodle_exception",
        "errorcode": "invalidtoken",
        "message": f"Invalid token {TOKEN} - token not found",
    }
    with pytest.raises(InvalidTokenError) as caught:
        answer(body)
    text = str(caught.value) + repr(caught.value) + caught.value.reason
    assert TOKEN not in text
    assert "[token]" in text


def test_token_in_a_non_json_body_is_redacted_even_where_the_quote_is_cut() -> None:
    # The quote is cut at 120 bytes; the token straddles the cut.
    body = ("x" * 110 + TOKEN + " trailing").encode()
    with pytest.raises(BadResponseError) as caught:
        answer(body)
    text = str(caught.value)
    assert TOKEN not in text
    for size in range(8, len(TOKEN) + 1):
        assert TOKEN[:size] not in text


def test_token_in_debuginfo_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    body = {**exception_body("invalidparameter"), "debuginfo": f"wstoken={TOKEN} rejected"}
    with pytest.raises(InvalidParameterError):
        answer(body)
    assert "debuginfo" in caplog.text
    assert TOKEN not in caplog.text


# --- retry delays -----------------------------------------------------------------------


def test_retry_after_is_honoured_up_to_max_backoff() -> None:
    policy = RetryPolicy(backoff=0.5, max_backoff=10.0)
    assert policy.delay(1, 3.0) == 3.0
    assert policy.delay(1, 600.0) == 10.0


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(backoff=1.0, max_backoff=5.0)
    for failures, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)]:
        delays = {policy.delay(failures, None) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jitter


def test_zero_backoff_never_waits() -> None:
    assert RetryPolicy(backoff=0).delay(3, None) == 0


def test_debuginfo_is_part_of_the_message() -> None:
    body = {**exception_body("invalidparameter"), "debuginfo": "Missing required key: courseid"}
    with pytest.raises(InvalidParameterError, match="Something: Missing required key: courseid"):
        answer(body)


# --- answers validated in one pass (the reader's large list reads) ---------------------

MEMBERS = TypeAdapter(list[dict[str, int | list[int]]])


def typed_answer(body: bytes):
    return parse_response(
        site="primary", function="core_x", status=200, body=body, token=TOKEN, adapter=MEMBERS
    )


def test_a_list_answer_is_validated_in_one_pass() -> None:
    assert typed_answer(b'[{"cohortid": 8, "userids": [3, 7]}]') == [
        {"cohortid": 8, "userids": [3, 7]}
    ]


def test_an_error_body_still_becomes_its_typed_error_with_an_adapter() -> None:
    with pytest.raises(InvalidParameterError):
        typed_answer(json.dumps(exception_body("invalidparameter")).encode())


def test_a_wrongly_shaped_list_is_a_bad_response_naming_where() -> None:
    with pytest.raises(AnswerShapeError) as caught:
        typed_answer(b'[{"cohortid": "eight", "userids": []}]')
    assert isinstance(caught.value, BadResponseError)
    assert "0.cohortid" in caught.value.message


def test_non_json_is_still_a_bad_response_with_an_adapter() -> None:
    with pytest.raises(BadResponseError) as caught:
        typed_answer(b"[<html>")
    assert "not JSON" in caught.value.message


def test_a_site_info_answer_without_functions_is_not_a_site_info() -> None:
    """Read as one, it would say the token may call nothing, not that the answer is wrong."""
    with pytest.raises(BadResponseError, match="returned an unexpected shape"):
        site_info_of({}, site="lab")
    assert site_info_of({"functions": []}, site="lab").functions == frozenset()


@pytest.mark.parametrize(
    ("errorcode", "says"),
    [("wsnoinstance", "Manual enrolments"), ("wsusercannotassign", "Allow role assignments")],
)
def test_enrolment_refusals_say_what_to_change_on_the_site(errorcode: str, says: str) -> None:
    with pytest.raises(LmsError) as caught:
        answer(exception_body(errorcode))
    assert caught.value.hint is not None and says in caught.value.hint
