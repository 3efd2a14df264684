"""The HTTP session of one site's client: one pool, plutoctl's User-Agent, no retries
(the client runs its own loop), and the environment's settings taken once; and the
reading of an answer's body, bounded in time and size.
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
from collections.abc import Callable

import requests
from requests.adapters import HTTPAdapter

from plutoctl import __version__


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


def read_body(response: requests.Response, seconds: float, limit: int | None = None) -> bytes:
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
        sock = getattr(getattr(response.raw, "connection", None), "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        response.close()

    alarm = _WATCHDOG.arm(seconds, expire)
    chunks: list[bytes] = []
    size = 0
    try:
        # As ``content`` reads it (the same errors), 1 MB at a time rather than 10 KB:
        # about 1 ms of CPU less for a page of 1,000 users (300 KB).
        for chunk in response.iter_content(1 << 20):
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
