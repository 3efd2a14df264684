"""The HTTP transport of one site's client: one pool, plutoctl's User-Agent, no retries
(the client runs its own loop), the environment's settings taken once, and each
answer's body read bounded in time and size.

requests sets the transport up (proxies, CA bundle, .netrc, the connection pool);
each call then goes straight to the pool, without requests' per-request machinery:
merging settings, preparing the request, hooks, cookies and the response object cost
about twice the CPU of the call itself (0.6–0.9 ms a call, measured against a local
server). The site's web service sets no cookies (Moodle serves it without a session),
so none are kept; urllib3's errors are raised as the requests exceptions that
requests' adapter raises for them, so the client tells them apart as before.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from requests.exceptions import ChunkedEncodingError, ContentDecodingError, InvalidHeader
from urllib3 import BaseHTTPResponse, HTTPConnectionPool, Retry
from urllib3 import exceptions as u3
from urllib3.util import Timeout

from plutoctl import __version__
from plutoctl.errors import TransportError


@dataclass(frozen=True)
class HttpAnswer:
    """An HTTP answer, read whole: its status, its headers (names in any case), its body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def open_transport(site: str, pool_size: int, endpoint: str, content_type: str) -> Transport:
    """Return the site's transport, or raise TransportError if the environment's proxy
    or CA bundle settings make one impossible (before anything is sent)."""
    try:
        return Transport(pool_size, endpoint, content_type)
    except (requests.exceptions.InvalidSchema, OSError) as exc:
        raise TransportError(
            f"the connection cannot be set up: {exc}",
            site=site,
            errorcode="connection",
            hint="check the environment's proxy settings (HTTPS_PROXY, ALL_PROXY: a "
            "socks:// proxy needs pip install requests[socks]) and CA bundle "
            "(REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE)",
        ) from None


class Transport:
    """POSTs form bodies to one endpoint over a pool of ``pool_size`` connections.

    Thread-safe: the pool hands each call its own connection.
    """

    def __init__(self, pool_size: int, endpoint: str, content_type: str) -> None:
        self._session = new_session(pool_size, endpoint)
        adapter = self._session.get_adapter(endpoint)
        assert isinstance(adapter, HTTPAdapter)
        # Prepared once, as requests would prepare every call: the User-Agent, the
        # encodings accepted, .netrc's Authorization, the pool (through the proxy when
        # there is one) and the URL to ask it for.
        prepared = self._session.prepare_request(
            requests.Request("POST", endpoint, headers={"Content-Type": content_type})
        )
        verify, proxies = self._session.verify, self._session.proxies
        pool = adapter.get_connection_with_tls_context(prepared, verify, proxies=proxies)
        assert isinstance(pool, HTTPConnectionPool)  # HTTPS pools are HTTP pools too
        self._pool = pool
        adapter.cert_verify(self._pool, endpoint, verify, None)
        self._url = adapter.request_url(prepared, proxies)
        self._headers = {k: v for k, v in prepared.headers.items() if k != "Content-Length"}
        self._retries = Retry(0, read=False)

    def close(self) -> None:
        self._session.close()

    def post(self, body: bytes, timeout: tuple[float, float]) -> HttpAnswer:
        """POST ``body``; return the answer, read within the read timeout as a whole.

        Redirects are never followed (the body holds the token). Raises what requests
        raises for the same failure (``requests.Timeout``, ``requests.ConnectionError``,
        ``ChunkedEncodingError``, ``ContentDecodingError``, ``InvalidHeader``), or
        ``AnswerTooLargeError``.
        """
        headers = {**self._headers, "Content-Length": str(len(body))}
        try:
            response = self._pool.urlopen(
                "POST",
                self._url,
                body=body,
                headers=headers,
                redirect=False,
                assert_same_host=False,
                preload_content=False,
                decode_content=False,
                retries=self._retries,
                timeout=Timeout(connect=timeout[0], read=timeout[1]),
                chunked=False,
            )
        except (u3.ProtocolError, OSError) as exc:
            raise requests.ConnectionError(exc) from exc
        except u3.MaxRetryError as exc:
            cause = exc.reason
            if isinstance(cause, u3.ConnectTimeoutError) and not isinstance(
                cause, u3.NewConnectionError
            ):
                raise requests.ConnectTimeout(exc) from exc
            if isinstance(cause, u3.ProxyError):
                raise requests.exceptions.ProxyError(exc) from exc
            if isinstance(cause, u3.SSLError):
                raise requests.exceptions.SSLError(exc) from exc
            raise requests.ConnectionError(exc) from exc
        except u3.ClosedPoolError as exc:
            raise requests.ConnectionError(exc) from exc
        except u3.ProxyError as exc:
            raise requests.exceptions.ProxyError(exc) from exc
        except u3.SSLError as exc:
            raise requests.exceptions.SSLError(exc) from exc
        except u3.ReadTimeoutError as exc:
            raise requests.ReadTimeout(exc) from exc
        except u3.InvalidHeader as exc:
            raise InvalidHeader(exc) from exc
        try:
            content = read_body(response, timeout[1])
        finally:
            response.release_conn()
        return HttpAnswer(response.status, response.headers, content)


def new_session(pool_size: int, endpoint: str) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = f"plutoctl/{__version__}"
    _settle_environment(session, endpoint)
    return session


def _settle_environment(session: requests.Session, endpoint: str) -> None:
    """Take the proxy, CA bundle and .netrc settings for ``endpoint`` from the environment once.

    requests would look them up again on every request (environment scan, no_proxy
    match, .netrc); a client talks to one endpoint, so the answer is the same each time.
    """
    for scheme, proxy in requests.utils.get_environ_proxies(endpoint).items():
        session.proxies.setdefault(scheme, proxy)
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    session.auth = requests.utils.get_netrc_auth(endpoint)
    session.trust_env = False


MAX_ANSWER_BYTES = 512 * 1024 * 1024
"""Largest answer read (512 MiB): a page of 5,000 enrolled users is a few MB."""


class SlowAnswerError(requests.Timeout):
    """The answer's body took longer than the call may take, though data kept coming."""


class AnswerTooLargeError(requests.RequestException):
    """The answer's body is larger than ``MAX_ANSWER_BYTES``."""


class _Watchdog:
    """One thread that runs actions at their deadlines, for every answer being read.

    A timer thread per call cost about 0.2 ms of CPU, a call to arm and disarm here a
    few microseconds. Disarmed alarms are dropped when their time comes.
    """

    def __init__(self) -> None:
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._disarmed: set[int] = set()
        self._wake = threading.Condition()
        self._count = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, action: Callable[[], None]) -> int:
        """Run ``action`` in ``seconds`` unless disarmed first; return the alarm."""
        alarm = next(self._count)
        with self._wake:
            heapq.heappush(self._due, (time.monotonic() + seconds, alarm, action))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="deadlines", daemon=True)
                self._thread.start()
            if self._due[0][1] == alarm:  # sooner than any other: the thread waits less
                self._wake.notify()
        return alarm

    def disarm(self, alarm: int) -> None:
        with self._wake:
            self._disarmed.add(alarm)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._due or self._due[0][0] > time.monotonic():
                    self._wake.wait(self._due[0][0] - time.monotonic() if self._due else None)
                _, alarm, action = heapq.heappop(self._due)
                if alarm in self._disarmed:
                    self._disarmed.discard(alarm)
                    continue
            try:
                action()
            except Exception:  # this thread keeps every other deadline: it must go on
                logging.getLogger(__name__).debug("deadline action failed", exc_info=True)


_WATCHDOG = _Watchdog()


def read_body(response: BaseHTTPResponse, seconds: float, limit: int | None = None) -> bytes:
    """Return the body of ``response``, read within ``seconds`` and ``limit`` bytes.

    The read timeout bounds each wait on the socket only: a server sending a byte now
    and then would hold the call for ever. A timer shuts the connection when the time
    is up, which ends the read; it is then a ``SlowAnswerError`` (a timeout).
    """
    limit = MAX_ANSWER_BYTES if limit is None else limit
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        # Closing the response does not wake a read blocked on the socket: shutting the
        # socket down does (the read sees the end of the stream).
        sock = getattr(getattr(response, "connection", None), "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        response.close()

    alarm = _WATCHDOG.arm(seconds, expire)
    chunks: list[bytes] = []
    size = 0
    try:
        # 1 MB at a time: about 1 ms of CPU less than 10 KB for a page of 1,000 users.
        for chunk in _stream(response, 1 << 20):
            size += len(chunk)
            if size > limit:
                response.close()
                raise AnswerTooLargeError(f"the answer is larger than {limit // 2**20} MiB")
            chunks.append(chunk)
    except requests.RequestException:
        if expired.is_set():
            raise SlowAnswerError(f"the answer took more than {seconds:g} s") from None
        raise
    finally:
        _WATCHDOG.disarm(alarm)
    if expired.is_set():  # closed as the last chunk came: what was read may be cut short
        raise SlowAnswerError(f"the answer took more than {seconds:g} s")
    return b"".join(chunks)


def _stream(response: BaseHTTPResponse, size: int) -> Iterator[bytes]:
    """Yield the decoded body in chunks, raising what requests' ``iter_content`` raises."""
    try:
        yield from response.stream(size, decode_content=True)
    except u3.ProtocolError as exc:
        raise ChunkedEncodingError(exc) from exc
    except u3.DecodeError as exc:
        raise ContentDecodingError(exc) from exc
    except u3.ReadTimeoutError as exc:
        raise requests.ConnectionError(exc) from exc
    except u3.SSLError as exc:
        raise requests.exceptions.SSLError(exc) from exc
