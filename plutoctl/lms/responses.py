"""A site's HTTP answer -> the value it carries, or the typed error it means, with a hint.

The single mapping from a response to an ``LmsError`` (chosen by Moodle's errorcode,
never by its exception class), every hint a user sees for a site's answer, and the
redaction of the token from every answer before anything is decoded, so nothing
built from an answer can hold it. No HTTP here: the client hands in status, headers
and body, which keeps all of this testable without a server.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from plutoctl.errors import (
    AccessDeniedError,
    BadResponseError,
    InvalidParameterError,
    InvalidTokenError,
    LmsError,
    MissingRecordError,
    PermissionDeniedError,
    RedirectRefusedError,
    SiteFaultError,
    TransportError,
    WebServiceDisabledError,
)
from plutoctl.lms.answers import Answer, SiteInfoRecord
from plutoctl.lms.functions import SITE_INFO
from plutoctl.lms.hints import HINTS
from plutoctl.lms.redact import redact, redact_bytes

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429}) | frozenset(range(500, 600))
_QUOTE_BYTES = 120
# A JSON array cannot be a Moodle error body, which is always an object.
_ARRAY_START = re.compile(rb"\s*\[")

# errorcode -> (error class, hint key). Chosen by errorcode, never by the exception
# class name, which changed in Moodle 4.5.
_ERRORCODES: dict[str, tuple[type[LmsError], str]] = {
    "invalidtoken": (InvalidTokenError, "token"),
    "accessexception": (AccessDeniedError, "access"),
    "wsaccessuserdeleted": (AccessDeniedError, "tokenuser"),
    "wsaccessusersuspended": (AccessDeniedError, "tokenuser"),
    "wsaccessuserunconfirmed": (AccessDeniedError, "tokenuser"),
    "wsaccessuserexpired": (AccessDeniedError, "tokenuser"),
    "wsaccessusernologin": (AccessDeniedError, "tokenuser"),
    "sitemaintenance": (LmsError, "maintenance"),
    "servicerequireslogin": (AccessDeniedError, "login"),
    "invalidparameter": (InvalidParameterError, "parameter"),
    "invalidrecord": (MissingRecordError, "missing"),
    "invalidrecordunknown": (MissingRecordError, "missing"),
    "invaliduser": (MissingRecordError, "missing"),
    "nopermissions": (PermissionDeniedError, "permission"),
    "requireloginerror": (PermissionDeniedError, "permission"),
    "restrictedcontextexception": (PermissionDeniedError, "permission"),
    "wsnoinstance": (LmsError, "noinstance"),
    "wsusercannotassign": (LmsError, "cannotassign"),
}


class AnswerShapeError(BadResponseError):
    """An answer that decoded but is not of the shape the caller's adapter expects.

    Distinct from other bad answers because readers treat it as fatal where they
    treat a failed call as a partial read: it means plutoctl misreads the release.
    """


class Retryable(Exception):
    """An attempt failed in a way that repeating it may fix."""

    def __init__(self, error: TransportError, retry_after: float | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.retry_after = retry_after


@dataclass(frozen=True)
class SiteInfo:
    """What ``core_webservice_get_site_info`` says about the site and the token."""

    release: str
    version: str
    functions: frozenset[str]
    site_name: str
    site_id: int = 1


def site_info_of(raw: Any, *, site: str) -> SiteInfo:
    """Return what a ``core_webservice_get_site_info`` answer says, or raise BadResponseError."""
    try:
        record = SiteInfoRecord.model_validate(raw)
        if "functions" not in raw:  # every site lists them: not a site's answer
            raise ValueError("no functions")
    except (ValidationError, ValueError) as exc:
        raise BadResponseError(
            f"{SITE_INFO} returned an unexpected shape",
            site=site,
            function=SITE_INFO,
            errorcode="badresponse",
            hint=HINTS["bad"],
        ) from exc
    return SiteInfo(
        release=record.release,
        version=record.version,
        functions=frozenset(str(f.get("name", "")) for f in record.functions),
        site_name=record.sitename,
        site_id=record.siteid,
    )


def no_answer(kind: str, cause: str, *, url: str, site: str, function: str) -> TransportError:
    """Return the error for a call that got no usable answer (``kind``: timeout,
    connection or garbled)."""
    return TransportError(
        f"no answer from {url} ({kind}: {cause})",
        site=site,
        function=function,
        errorcode=kind,
        hint=HINTS[kind],
    )


def too_large(reason: str, *, site: str, function: str) -> LmsError:
    """Return the error for an answer past the size any site's answer has."""
    return LmsError(
        reason,
        site=site,
        function=function,
        errorcode="toolarge",
        hint="no answer of a Moodle site is that large: check for a proxy or gateway in "
        "front of the site",
    )


def gave_up(error: TransportError, attempts: int) -> TransportError:
    """Return ``error`` as the last of ``attempts`` failed attempts of a call."""
    if attempts == 1:
        return error
    return _saying(error, f"gave up after {attempts} attempts")


def not_retried(error: TransportError) -> TransportError:
    """Return ``error`` as a call's failure that was not retried: the run was stopped."""
    return _saying(error, "not retried: apply was interrupted")


def not_sent(*, site: str, function: str) -> LmsError:
    """Return the failure of a call not sent: the run was stopped before it."""
    return LmsError(
        "not sent: apply was interrupted", site=site, function=function, errorcode="interrupted"
    )


def _saying(error: TransportError, why: str) -> TransportError:
    """Return ``error`` with ``why`` added to its reason."""
    return TransportError(
        f"{error.reason}; {why}",
        site=error.site,
        function=error.function,
        errorcode=error.errorcode,
        hint=error.hint,
    )


def parse_response(
    *,
    site: str,
    function: str,
    status: int,
    body: bytes,
    token: str,
    retry_after: str | None = None,
    adapter: Answer[Any] | None = None,
    location: str | None = None,
) -> Any:
    """Return the decoded result of a call, or raise the LmsError its answer means.

    With ``adapter``, return the result validated by it, or raise AnswerShapeError
    if it does not fit. Raises ``Retryable`` (wrapping a TransportError) for HTTP
    429 and 5xx, and RedirectRefusedError for any 3xx (``location`` is its target).
    """
    body = redact_bytes(body, token)
    if 300 <= status < 400:
        raise _redirect_refused(status, location, site=site, function=function, token=token)
    if status in RETRY_STATUSES:
        wait = _retry_after_seconds(retry_after)
        asked = f" (it asked to wait {wait:,.0f} s)" if wait else ""
        error = TransportError(
            f"HTTP {status}{asked}",
            site=site,
            function=function,
            errorcode=f"http{status}",
            hint=HINTS["rate" if status == 429 else "server"],
        )
        raise Retryable(error, wait)
    if status == 403 and not body.strip():
        raise WebServiceDisabledError(
            "HTTP 403 with an empty body: web services or the REST protocol are disabled "
            "on this site",
            site=site,
            function=function,
            errorcode="wsdisabled",
            hint=HINTS["disabled"],
        )
    if b"\0" in body:
        # UTF-16 or UTF-32 (JSON's own signs are ASCII, which these write with NUL
        # bytes), never a Moodle answer: the token was looked for in UTF-8 only, so the
        # body is neither decoded nor quoted.
        raise BadResponseError(
            f"HTTP {status}: the answer is not UTF-8 text",
            site=site,
            function=function,
            errorcode="badresponse",
            hint="a Moodle site answers in UTF-8; check the site URL, or what stands in "
            "front of the site (a proxy or gateway)",
        )
    if status != 200:
        raise _bad_response(f"HTTP {status}", site, function, body, token)
    if adapter is not None and _ARRAY_START.match(body):
        # Decode and validate in one pass in pydantic-core: for the large answers
        # (user pages, enrolments, members) json.loads and validating the decoded
        # values took about twice as long. Anything it rejects takes the slow path
        # below, which gives the same errors as ever.
        try:
            return adapter.validate_json(body)
        except ValidationError:
            pass
    try:
        value = json.loads(body)
    except ValueError:
        raise _bad_response("the answer is not JSON", site, function, body, token) from None
    except RecursionError:  # nested deeper than any answer a site gives
        raise _bad_response(
            "the answer is JSON nested too deep to be an answer", site, function, body, token
        ) from None
    if isinstance(value, dict) and "exception" in value:
        raise error_from_body(value, site=site, function=function, token=token)
    if adapter is None:
        return value
    return validate_answer(adapter, value, site=site, function=function)


def validate_answer(adapter: Answer[Any], value: Any, *, site: str, function: str) -> Any:
    """Return ``value`` validated by ``adapter``, or raise AnswerShapeError naming where."""
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the top level"
        raise AnswerShapeError(
            f"unexpected answer at {where}: {first['msg']}",
            site=site,
            function=function,
            errorcode="badresponse",
            hint="the site may run a release plutoctl does not support; report it",
        ) from None


def error_from_body(body: Mapping[str, Any], *, site: str, function: str, token: str) -> LmsError:
    """Return the typed error for a Moodle exception body, chosen by its errorcode."""
    if not body.get("errorcode"):
        return _site_fault(body, site=site, function=function, token=token)
    # A site may echo what it was sent, the token included, in any part of the answer.
    code = redact(str(body.get("errorcode")), token)
    message = redact(str(body.get("message") or "no message"), token)
    debuginfo = redact(str(body.get("debuginfo") or ""), token).strip()
    if debuginfo:
        # Sites with debugging on explain here what the message only names.
        log.debug("%s: %s debuginfo: %s", site, function, debuginfo)
        message = f"{message}: {_shorten(debuginfo)}"
    cls, hint_key = _ERRORCODES.get(code, (LmsError, ""))
    if cls is InvalidTokenError:
        message = f"the site refused the token ({message})"
    return cls(message, site=site, function=function, errorcode=code, hint=HINTS.get(hint_key))


def _site_fault(body: Mapping[str, Any], *, site: str, function: str, token: str) -> LmsError:
    """Return the error for an exception with no errorcode: a fault in the site's code.

    Moodle 4.5 answers so, for one, ``enrol_manual_enrol_users`` naming a user id that
    does not exist (``TypeError``); the call rolled back as a whole.
    """
    kind = redact(str(body.get("exception") or "error"), token)
    message = redact(str(body.get("message") or "no message"), token)
    return SiteFaultError(
        f"the site failed with a PHP {kind}: {_shorten(message)}",
        site=site,
        function=function,
        errorcode=kind,
        hint=HINTS["fault"],
    )


def _shorten(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _bad_response(what: str, site: str, function: str, body: bytes, token: str) -> LmsError:
    # Redact before cutting, so that no part of a token survives at the cut.
    head = redact(body[: _QUOTE_BYTES + len(token)].decode("utf-8", "replace"), token)
    head = head[:_QUOTE_BYTES]
    return BadResponseError(
        f"{what}; it begins {head!r}",
        site=site,
        function=function,
        errorcode="badresponse",
        hint=HINTS["bad"],
    )


def _redirect_refused(
    status: int, location: str | None, *, site: str, function: str, token: str
) -> RedirectRefusedError:
    # Name only where the redirect points (scheme, host, port): its path or query may
    # quote what was sent. Header text is read as Latin-1: a host of other bytes (a
    # token's, in UTF-8) is not named either.
    target = urlsplit(redact(location or "", token))
    host = target.netloc.rpartition("@")[2]
    if not host.isascii():
        host = "a host named in other than ASCII"
    where = f"{target.scheme}://{host}" if target.netloc else ""
    named = f" to {where}" if where else " (no Location given)"
    return RedirectRefusedError(
        f"the site answered HTTP {status}, a redirect{named}; plutoctl never follows "
        "redirects, so the token is sent to the configured site only",
        site=site,
        function=function,
        errorcode=f"http{status}",
        hint=(
            "the site URL is probably wrong: set url: to the final URL, the address the "
            "site redirects to (for example https:// instead of http://, or the new host)"
        ),
    )


def _retry_after_seconds(header: str | None) -> float | None:
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
