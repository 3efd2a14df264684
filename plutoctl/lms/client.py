"""The web-service transport for one Pluto/Moodle site: session, retries, chunking, concurrency.

One ``SiteClient`` per site owns the HTTP session, the timeouts, the retry loop, the
split of a list under ``max_input_vars`` and the bound on calls in flight. What an
answer means (value, typed error, hint) is ``responses.py``'s, keeping the token out of
it ``redact.py``'s; how many variables an item takes is the registry's
(``functions.py``). The token travels only
in the POST body, to the configured site only (redirects are refused, never
followed), and every answer is redacted before it is decoded.

``site_info`` is the one read kept here: the client caches it per site, and every
run checks the token's functions against it before reading or writing anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import accumulate, pairwise
from typing import Any, TypeVar

import requests
from requests.exceptions import ChunkedEncodingError, ContentDecodingError, InvalidHeader

from plutoctl.errors import AccessDeniedError, InvalidParameterError, LmsError
from plutoctl.lms.answers import Answer
from plutoctl.lms.functions import RESERVED_VARS, SITE_INFO, balanced_sizes, is_worth_spreading
from plutoctl.lms.hints import SERVICE_PATH
from plutoctl.lms.params import (
    ENDPOINT,
    FORM_TYPE,
    count_item_vars,
    count_vars,
    encode_form,
    flatten,
)
from plutoctl.lms.redact import redact
from plutoctl.lms.responses import (
    AnswerShapeError,
    Retryable,
    SiteInfo,
    gave_up,
    no_answer,
    not_retried,
    not_sent,
    parse_response,
    site_info_of,
    too_large,
)
from plutoctl.lms.retry import SAID_WAIT, RetryPolicy
from plutoctl.lms.session import AnswerTooLargeError, open_transport

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

# Also answers the HTTP layer cannot take as sent: a body that is not in the encoding its
# header names, a header given twice with two values (Content-Length).
_TRANSPORT_ERRORS = (
    requests.Timeout,
    requests.ConnectionError,
    ChunkedEncodingError,
    ContentDecodingError,
    InvalidHeader,
)


@dataclass(frozen=True)
class ChunkResult:
    """One chunk of a chunked call: its items, and its result, its error or that it was not sent."""

    items: list[Any]
    result: Any | None = None
    error: LmsError | None = None
    is_unsent: bool = False


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
        sleep: Callable[[float], None] | None = None,
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
        # ``sleep`` overrides the policy's (kept for callers that pass it directly).
        self._sleep = sleep if sleep is not None else self.retry.sleep
        self._slots = threading.BoundedSemaphore(self.parallelism)
        self._lock = threading.Lock()
        self._site_info: SiteInfo | None = None
        self._transport = open_transport(self.site, self.parallelism, self.endpoint, FORM_TYPE)
        self._stop: threading.Event | None = None
        self._reads_stop: threading.Event | None = None

    def __repr__(self) -> str:
        return f"SiteClient(site={self.site!r}, url={self.url!r})"

    def __enter__(self) -> SiteClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections."""
        self._transport.close()

    def stop_retrying_on(self, stop: threading.Event) -> None:
        """Retry no failed call once ``stop`` is set (Ctrl-C during apply): the wait
        before a retry ends then, and the call fails with the error it had."""
        self._stop = stop

    @contextlib.contextmanager
    def reading_until(self, stop: threading.Event) -> Iterator[None]:
        """Within the block, start no call once ``stop`` is set: each fails unsent
        (errorcode ``interrupted``), so that a read cut short by Ctrl-C ends as soon as
        the calls in flight are answered. For the re-read before applying."""
        self._reads_stop = stop
        try:
            yield
        finally:
            self._reads_stop = None

    def seal(self, content: bytes) -> str:
        """Return the HMAC-SHA256 of ``content`` keyed by the site's token, in hex.

        Whoever holds the token can make it, nobody else can; it reveals nothing of the
        token. A saved plan carries one per site (``plutoctl.plan.saved``).
        """
        return hmac.new(self._token.encode(), content, hashlib.sha256).hexdigest()

    # --- single calls ----------------------------------------------------------------

    def call(
        self,
        function: str,
        params: Mapping[str, Any] | None = None,
        *,
        retry_safe: bool,
        adapter: Answer[Any] | None = None,
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
        if self._reads_stop is not None and self._reads_stop.is_set():
            raise not_sent(site=self.site, function=function)
        attempts = self.retry.attempts if retry_safe else 1
        # requests/urllib3 retries cannot tell our idempotent POSTs from creates, nor
        # add jitter to Retry-After, so the client runs this one small loop itself.
        for attempt in range(1, attempts + 1):
            try:
                return self._attempt(function, data, attempt, adapter)
            except Retryable as failure:
                if attempt == attempts:
                    raise gave_up(failure.error, attempts) from failure.error
                if self._is_stopped():
                    raise not_retried(failure.error) from failure.error
                delay = self.retry.delay(attempt, failure.retry_after)
                log.log(
                    logging.WARNING if delay >= SAID_WAIT else logging.INFO,
                    "%s: %s failed (%s); retry %d/%d in %.2fs",
                    self.site,
                    function,
                    failure.error.errorcode,
                    attempt,
                    attempts - 1,
                    delay,
                )
                self._wait(delay)
                if self._is_stopped():
                    raise not_retried(failure.error) from failure.error
        raise AssertionError("unreachable")  # pragma: no cover

    def _is_stopped(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    def _wait(self, delay: float) -> None:
        """Sleep out a retry's delay; a stop ends a real wait early (a ``sleep`` given in
        place of the real one, as tests give, is called as it is)."""
        if self._stop is not None and self._sleep is time.sleep:
            self._stop.wait(delay)
        else:
            self._sleep(delay)

    def read(
        self,
        function: str,
        params: Mapping[str, Any] | None = None,
        adapter: Answer[Any] | None = None,
    ) -> Any:
        """Call a read function: as ``call``, always safe to repeat."""
        return self.call(function, params, retry_safe=True, adapter=adapter)

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
        adapter: Answer[Any] | None,
    ) -> Any:
        with self._lock:
            self.calls[function] += 1
        form = encode_form(data)  # before taking a slot: the calls in flight go on meanwhile
        started = time.perf_counter()
        try:
            with self._slots:
                # Never follows a redirect: the body, token included, would go to
                # whatever host the Location names (307/308).
                answer = self._transport.post(form, self.timeout)
        except AnswerTooLargeError as exc:
            raise too_large(str(exc), site=self.site, function=function) from exc
        except _TRANSPORT_ERRORS as exc:
            kind = (
                "timeout"
                if isinstance(exc, requests.Timeout)
                else "garbled"
                if isinstance(exc, ContentDecodingError | InvalidHeader)
                else "connection"
            )
            log.debug("%s: %s attempt %d: %s", self.site, function, attempt, kind)
            cause = type(exc).__name__
            error = no_answer(kind, cause, url=self.url, site=self.site, function=function)
            raise Retryable(error) from exc
        elapsed = (time.perf_counter() - started) * 1000
        with self._lock:
            self.seconds[function] = self.seconds.get(function, 0.0) + elapsed / 1000
        log.debug(
            "%s: %s attempt %d: HTTP %d, %d bytes in %.0f ms (%d vars)",
            self.site,
            function,
            attempt,
            answer.status,
            len(answer.body),
            elapsed,
            len(data),
        )
        return parse_response(
            site=self.site,
            function=function,
            status=answer.status,
            body=answer.body,
            token=self._token,
            retry_after=answer.headers.get("Retry-After"),
            adapter=adapter,
            location=answer.headers.get("Location"),
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
        adapter: Answer[Any] | None = None,
        spread: bool = False,
        stop: threading.Event | None = None,
    ) -> list[ChunkResult]:
        """Call ``function`` with ``items`` under ``list_key``, split to fit max_input_vars.

        Chunks are even (``balanced_sizes``: a multiple of ``parallelism`` calls when
        more than one is needed, or when one would be slow: ``is_worth_spreading``) and
        run concurrently (at most ``parallelism`` in flight, the next chunk's body built
        meanwhile); a failed chunk does not stop the others and is returned with its
        items, as is every chunk not yet sent once ``stop`` is set. ``adapter``
        validates each result as in ``call``; ``spread``: use every stream for few items.
        """
        fixed = dict(params or {})
        budget = self.max_input_vars - RESERVED_VARS - count_vars(fixed)
        item_vars = count_item_vars(items)
        spread = spread or is_worth_spreading(function, len(items), self.parallelism)
        sizes = balanced_sizes(item_vars, budget, self.parallelism, spread=spread)
        chunks = [list(items[a:b]) for a, b in pairwise(accumulate(sizes, initial=0))]

        def run(chunk: list[Any]) -> ChunkResult:
            if stop is not None and stop.is_set():
                return ChunkResult(items=chunk, is_unsent=True)
            try:
                result = self.call(
                    function, {**fixed, list_key: chunk}, retry_safe=retry_safe, adapter=adapter
                )
            except AnswerShapeError:
                raise
            except LmsError as exc:
                return ChunkResult(items=chunk, error=exc)
            return ChunkResult(items=chunk, result=result)

        if len(chunks) <= 1 or self.parallelism == 1:
            return [run(chunk) for chunk in chunks]
        # One worker more than the calls in flight: it flattens and encodes the next
        # chunk's body while the others are in flight, and takes the first slot freed,
        # so a stream does not sit idle while a 5,000-variable body is built.
        workers = min(self.parallelism + 1, len(chunks))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="plutoctl") as pool:
            futures = [pool.submit(run, chunk) for chunk in chunks]
        return [future.result() for future in futures]

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
        info = site_info_of(self.read(SITE_INFO), site=self.site)
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
                f"functions to the service of this site's token ({SERVICE_PATH} > the "
                "token's service > Functions > Add functions)"
            ),
        )
