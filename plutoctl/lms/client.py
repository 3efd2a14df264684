"""The web-service REST client for one Pluto/Moodle site.

One ``SiteClient`` per site owns the HTTP session, the timeouts, the retry loop, the
batching under ``max_input_vars``, the bounded concurrency, and the single mapping
from a response to a typed ``LmsError``. The token travels only in the POST body, to
the configured site only (redirects are refused, never followed), and is redacted
from every answer before it is decoded, so nothing built from an answer can hold it.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from requests.adapters import HTTPAdapter

from plutoctl import __version__
from plutoctl.batching import RESERVED_VARS, balanced_sizes
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
from plutoctl.lms.params import FORM_TYPE, count_vars, encode_form, flatten

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

ENDPOINT = "/webservice/rest/server.php"
REDACTED = "[token]"
_TRANSPORT_ERRORS = (
    requests.Timeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
)
RETRY_STATUSES = frozenset({429}) | frozenset(range(500, 600))
_QUOTE_BYTES = 120
# A JSON array cannot be a Moodle error body, which is always an object.
_ARRAY_START = re.compile(rb"\s*\[")

_SERVICE_PATH = "Site administration > Server > Web services > External services"
_HINTS = {
    "token": (
        "the site does not know this token: check that the token variable for this site "
        "holds a current token (Site administration > Server > Web services > Manage tokens)"
    ),
    "access": (
        "add the function to the token's service "
        f"({_SERVICE_PATH} > Functions), and check that the token has not expired and is "
        "not restricted to other IP addresses (Manage tokens)"
    ),
    "parameter": "the site rejected the parameters; run with --debug and report it if it persists",
    "missing": "the record (or the function) does not exist on this site; run plan again",
    "permission": (
        "give the token's user a role at system level with the capabilities listed in "
        "docs/lms.md (for example moodle/cohort:manage, moodle/course:managegroups)"
    ),
    "connection": "the site could not be reached: check its URL and the network, then try again",
    "timeout": (
        "the site took too long to answer: try again later, or allow more time with "
        "--timeout SECONDS"
    ),
    "server": "the site answered with a server error: check the site's status, then try again",
    "disabled": (
        "enable web services (Site administration > Advanced features) and the REST "
        "protocol (Site administration > Server > Web services > Manage protocols)"
    ),
    "bad": "check that the site URL is the site root (plutoctl adds " + ENDPOINT + ")",
    "fault": (
        "the site's code failed on this call, and nothing of it was kept; this often means "
        "the call names a user, course or group that no longer exists (run plan again to "
        "re-read the site); if it persists, report the message to the site's administrators"
    ),
}

# errorcode -> (error class, hint key). Chosen by errorcode, never by the exception
# class name, which changed in Moodle 4.5.
_ERRORCODES: dict[str, tuple[type[LmsError], str]] = {
    "invalidtoken": (InvalidTokenError, "token"),
    "accessexception": (AccessDeniedError, "access"),
    "wsaccessuserdeleted": (AccessDeniedError, "access"),
    "wsaccessusersuspended": (AccessDeniedError, "access"),
    "wsaccessuserunconfirmed": (AccessDeniedError, "access"),
    "wsaccessuserexpired": (AccessDeniedError, "access"),
    "wsaccessusernologin": (AccessDeniedError, "access"),
    "invalidparameter": (InvalidParameterError, "parameter"),
    "invalidrecord": (MissingRecordError, "missing"),
    "invalidrecordunknown": (MissingRecordError, "missing"),
    "invaliduser": (MissingRecordError, "missing"),
    "nopermissions": (PermissionDeniedError, "permission"),
    "requireloginerror": (PermissionDeniedError, "permission"),
    "restrictedcontextexception": (PermissionDeniedError, "permission"),
}


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a call that may be repeated.

    Delays grow as ``backoff * 2**n`` with jitter, never beyond ``max_backoff``; a
    ``Retry-After`` from the site is honoured up to ``max_backoff``.
    """

    attempts: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0

    def delay(self, failures: int, retry_after: float | None) -> float:
        """Return the seconds to wait after the ``failures``-th failed attempt."""
        if retry_after is not None:
            return min(self.max_backoff, max(0.0, retry_after))
        ceiling = min(self.max_backoff, self.backoff * 2 ** (failures - 1))
        return random.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class SiteInfo:
    """What ``core_webservice_get_site_info`` says about the site and the token."""

    release: str
    version: str
    functions: frozenset[str]
    site_name: str
    site_id: int = 1


@dataclass(frozen=True)
class ChunkResult:
    """One chunk of a chunked call: the items it carried and its result or error."""

    items: list[Any]
    result: Any | None = None
    error: LmsError | None = None


class _SiteInfoRecord(BaseModel):
    # API answers carry many more keys than we read, and they vary by release: ignore.
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    sitename: str = ""
    release: str = ""
    version: str = ""
    siteid: int = 1
    functions: list[dict[str, Any]] = []


class AnswerShapeError(BadResponseError):
    """An answer that decoded but is not of the shape the caller's adapter expects.

    Distinct from other bad answers because readers treat it as fatal where they
    treat a failed call as a partial read: it means plutoctl misreads the release.
    """


class _Retryable(Exception):
    """An attempt failed in a way that repeating it may fix."""

    def __init__(self, error: TransportError, retry_after: float | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.retry_after = retry_after


class SiteClient:
    """Calls one site's web-service functions over REST.

    Thread-safe: the reader and apply run independent calls concurrently through
    ``map_concurrent`` and ``call_chunked``; at most ``parallelism`` HTTP requests are
    in flight at once for this site.
    """

    def __init__(
        self,
        site: str,
        url: str,
        token: str,
        *,
        max_input_vars: int = 1000,
        timeout: tuple[float, float] = (5.0, 120.0),
        retry: RetryPolicy | None = None,
        parallelism: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.site = site
        self.url = url.rstrip("/")
        self.endpoint = self.url + ENDPOINT
        self.max_input_vars = max_input_vars
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.parallelism = max(1, parallelism)
        self.calls: Counter[str] = Counter()
        self.seconds: dict[str, float] = {}  # wall seconds spent per function
        self._token = token
        self._sleep = sleep
        self._slots = threading.BoundedSemaphore(self.parallelism)
        self._lock = threading.Lock()
        self._site_info: SiteInfo | None = None
        self._session = _new_session(self.parallelism, self.endpoint)

    def __repr__(self) -> str:
        return f"SiteClient(site={self.site!r}, url={self.url!r})"

    def __enter__(self) -> SiteClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    # --- single calls ----------------------------------------------------------------

    def call(
        self,
        function: str,
        params: Mapping[str, Any] | None = None,
        *,
        retry_safe: bool,
        adapter: TypeAdapter[Any] | None = None,
    ) -> Any:
        """Call ``function`` once and return its decoded JSON result.

        ``retry_safe`` allows repeating the call on timeouts, connection errors and
        HTTP 429/5xx: true for reads and idempotent writes, false for creates. With
        ``adapter`` the result is validated by it (see ``parse_response``), and an
        answer of another shape raises AnswerShapeError.
        """
        data = self._form(function, params or {})
        # From here on only the name shown in logs and errors, never the raw argument.
        function = redact(function, self._token)
        attempts = self.retry.attempts if retry_safe else 1
        # requests/urllib3 retries cannot tell our idempotent POSTs from creates, nor
        # add jitter to Retry-After, so the client runs this one small loop itself.
        for attempt in range(1, attempts + 1):
            try:
                return self._attempt(function, data, attempt, adapter)
            except _Retryable as failure:
                if attempt == attempts:
                    raise self._gave_up(function, failure, attempts) from failure.error
                delay = self.retry.delay(attempt, failure.retry_after)
                log.info(
                    "%s: %s failed (%s); retry %d/%d in %.2fs",
                    self.site,
                    function,
                    failure.error.errorcode,
                    attempt,
                    attempts - 1,
                    delay,
                )
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _form(self, function: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        pairs = flatten(params)
        if len(pairs) + RESERVED_VARS > self.max_input_vars:
            raise InvalidParameterError(
                f"the call needs {len(pairs) + RESERVED_VARS} request variables but the "
                f"site accepts {self.max_input_vars} (max_input_vars)",
                site=self.site,
                function=redact(function, self._token),
                errorcode="maxinputvars",
                hint="split the list with call_chunked",
            )
        reserved = [
            ("wstoken", self._token),
            ("wsfunction", function),
            ("moodlewsrestformat", "json"),
            ("moodlewssettingraw", "1"),
        ]
        return reserved + pairs

    def _attempt(
        self,
        function: str,
        data: list[tuple[str, str]],
        attempt: int,
        adapter: TypeAdapter[Any] | None,
    ) -> Any:
        with self._lock:
            self.calls[function] += 1
        form = encode_form(data)  # before taking a slot: the calls in flight go on meanwhile
        started = time.perf_counter()
        try:
            with self._slots:
                # Never follow a redirect: requests would re-send the body, token
                # included, to whatever host the Location names (307/308).
                response = self._session.post(
                    self.endpoint,
                    data=form,
                    headers={"Content-Type": FORM_TYPE},
                    timeout=self.timeout,
                    allow_redirects=False,
                )
                body = response.content
        except _TRANSPORT_ERRORS as exc:
            kind = "timeout" if isinstance(exc, requests.Timeout) else "connection"
            log.debug("%s: %s attempt %d: %s", self.site, function, attempt, kind)
            error = TransportError(
                f"no answer from {self.url} ({kind}: {type(exc).__name__})",
                site=self.site,
                function=function,
                errorcode=kind,
                hint=_HINTS[kind],
            )
            raise _Retryable(error) from exc
        elapsed = (time.perf_counter() - started) * 1000
        with self._lock:
            self.seconds[function] = self.seconds.get(function, 0.0) + elapsed / 1000
        log.debug(
            "%s: %s attempt %d: HTTP %d, %d bytes in %.0f ms (%d vars)",
            self.site,
            function,
            attempt,
            response.status_code,
            len(body),
            elapsed,
            len(data),
        )
        return parse_response(
            site=self.site,
            function=function,
            status=response.status_code,
            body=body,
            token=self._token,
            retry_after=response.headers.get("Retry-After"),
            adapter=adapter,
            location=response.headers.get("Location"),
        )

    def _gave_up(self, function: str, failure: _Retryable, attempts: int) -> TransportError:
        error = failure.error
        if attempts == 1:
            return error
        return TransportError(
            f"{error.reason}; gave up after {attempts} attempts",
            site=self.site,
            function=function,
            errorcode=error.errorcode,
            hint=error.hint,
        )

    # --- many calls ------------------------------------------------------------------

    def call_chunked(
        self,
        function: str,
        list_key: str,
        items: list[Any],
        *,
        params: Mapping[str, Any] | None = None,
        retry_safe: bool,
        adapter: TypeAdapter[Any] | None = None,
        spread: bool = False,
    ) -> list[ChunkResult]:
        """Call ``function`` with ``items`` under ``list_key``, split to fit max_input_vars.

        Chunks are even (``balanced_sizes``: a multiple of ``parallelism`` calls when
        more than one is needed) and run concurrently (bounded by ``parallelism``); a
        failed chunk does not stop the others and is returned with the items it held.
        ``adapter`` validates each chunk's result as in ``call``; an AnswerShapeError
        is raised, not kept. ``spread``: use every stream even when one call would do
        (for reads whose answers grow with each item).
        """
        fixed = dict(params or {})
        budget = self.max_input_vars - RESERVED_VARS - count_vars(fixed)
        item_vars = [count_vars({list_key: [item]}) for item in items]
        sizes = balanced_sizes(item_vars, budget, self.parallelism, spread=spread)
        chunks: list[list[Any]] = []
        start = 0
        for size in sizes:
            chunks.append(list(items[start : start + size]))
            start += size

        def run(chunk: list[Any]) -> ChunkResult:
            try:
                result = self.call(
                    function, {**fixed, list_key: chunk}, retry_safe=retry_safe, adapter=adapter
                )
            except AnswerShapeError:
                raise
            except LmsError as exc:
                return ChunkResult(items=chunk, error=exc)
            return ChunkResult(items=chunk, result=result)

        return self.map_concurrent(run, chunks)

    def map_concurrent(self, fn: Callable[[T], R], iterable: Iterable[T]) -> list[R]:
        """Return ``[fn(x) for x in iterable]``, running up to ``parallelism`` at once.

        Results keep the input order; the first exception (in input order) is raised
        once all calls have finished.
        """
        items = list(iterable)
        if len(items) <= 1 or self.parallelism == 1:
            return [fn(item) for item in items]
        workers = min(self.parallelism, len(items))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="plutoctl") as pool:
            futures = [pool.submit(fn, item) for item in items]
        return [future.result() for future in futures]

    # --- preflight -------------------------------------------------------------------

    def site_info(self) -> SiteInfo:
        """Return the site's release, version and the token's functions (read once)."""
        with self._lock:
            cached = self._site_info
        if cached is not None:
            return cached
        raw = self.call("core_webservice_get_site_info", retry_safe=True)
        try:
            record = _SiteInfoRecord.model_validate(raw)
        except ValidationError as exc:
            raise BadResponseError(
                "core_webservice_get_site_info returned an unexpected shape",
                site=self.site,
                function="core_webservice_get_site_info",
                errorcode="badresponse",
                hint=_HINTS["bad"],
            ) from exc
        info = SiteInfo(
            release=record.release,
            version=record.version,
            functions=frozenset(str(f.get("name", "")) for f in record.functions),
            site_name=record.sitename,
            site_id=record.siteid,
        )
        with self._lock:
            self._site_info = info
        return info

    def require_functions(self, names: Iterable[str]) -> None:
        """Raise one AccessDeniedError listing every function the token may not call."""
        missing = sorted(set(names) - self.site_info().functions)
        if not missing:
            return
        raise AccessDeniedError(
            f"the token's service lacks {len(missing)} function(s) plutoctl needs: "
            + ", ".join(missing),
            site=self.site,
            errorcode="missingfunctions",
            hint=(
                "enable web services and the REST protocol on the site, then add these "
                f"functions to the service of this site's token ({_SERVICE_PATH} > the "
                "token's service > Functions > Add functions)"
            ),
        )


def _new_session(pool_size: int, endpoint: str) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = f"plutoctl/{__version__}"
    _settle_environment(session, endpoint)
    return session


def _settle_environment(session: requests.Session, endpoint: str) -> None:
    """Take the proxy, CA bundle and .netrc settings for ``endpoint`` from the environment once.

    requests looks them up again on every request (environment scan, no_proxy match,
    .netrc), about a third of its CPU per call; a client talks to one endpoint, so the
    answer is the same each time.
    """
    for scheme, proxy in requests.utils.get_environ_proxies(endpoint).items():
        session.proxies.setdefault(scheme, proxy)
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    session.auth = requests.utils.get_netrc_auth(endpoint)
    session.trust_env = False


# --- response -> value or typed error ---------------------------------------------------


def redact(text: str, token: str) -> str:
    """Return ``text`` with every occurrence of ``token`` replaced."""
    return text.replace(token, REDACTED) if token else text


def redact_bytes(body: bytes, token: str) -> bytes:
    """Return an answer's raw bytes with every occurrence of ``token`` replaced.

    Done once, before anything is decoded, so that nothing derived from an answer (an
    error's errorcode, message or debuginfo, warnings, records, quoted bodies) can
    carry a token a site echoed back.
    """
    if not token:
        return body
    raw = token.encode()
    return body.replace(raw, REDACTED.encode()) if raw in body else body


def parse_response(
    *,
    site: str,
    function: str,
    status: int,
    body: bytes,
    token: str,
    retry_after: str | None = None,
    adapter: TypeAdapter[Any] | None = None,
    location: str | None = None,
) -> Any:
    """Return the decoded result of a call, or raise the LmsError its answer means.

    With ``adapter``, return the result validated by it, or raise AnswerShapeError
    if it does not fit. Raises ``_Retryable`` (wrapping a TransportError) for HTTP
    429 and 5xx, and RedirectRefusedError for any 3xx (``location`` is its target).
    """
    body = redact_bytes(body, token)
    if 300 <= status < 400:
        raise _redirect_refused(status, location, site=site, function=function, token=token)
    if status in RETRY_STATUSES:
        error = TransportError(
            f"HTTP {status}",
            site=site,
            function=function,
            errorcode=f"http{status}",
            hint=_HINTS["server"],
        )
        raise _Retryable(error, _retry_after_seconds(retry_after))
    if status == 403 and not body.strip():
        raise WebServiceDisabledError(
            "HTTP 403 with an empty body: web services or the REST protocol are disabled "
            "on this site",
            site=site,
            function=function,
            errorcode="wsdisabled",
            hint=_HINTS["disabled"],
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
    if isinstance(value, dict) and "exception" in value:
        raise error_from_body(value, site=site, function=function, token=token)
    if adapter is None:
        return value
    return validate_answer(adapter, value, site=site, function=function)


def validate_answer(adapter: TypeAdapter[Any], value: Any, *, site: str, function: str) -> Any:
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
    return cls(message, site=site, function=function, errorcode=code, hint=_HINTS.get(hint_key))


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
        hint=_HINTS["fault"],
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
        hint=_HINTS["bad"],
    )


def _redirect_refused(
    status: int, location: str | None, *, site: str, function: str, token: str
) -> RedirectRefusedError:
    # Name only where the redirect points (scheme, host, port): its path or query may
    # quote what was sent.
    target = urlsplit(redact(location or "", token))
    where = f"{target.scheme}://{target.netloc.rpartition('@')[2]}" if target.netloc else ""
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
