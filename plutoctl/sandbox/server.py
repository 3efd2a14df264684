"""The sandbox's HTTP side: a threaded loopback server, its request log and faults.

Only ``/webservice/rest/server.php`` answers (GET or POST, form-encoded). As in PHP,
the query string and the body are each cut before they are merged (the body wins on
a clash), so an over-full batch loses its tail. PHP keeps ``max_input_vars`` + 1
variables (it counts before it checks), as the recorded Moodle 4.5 site shows; an item
cut in half then fails the whole call with ``invalidparameter``.
"""

from __future__ import annotations

import email.utils
import functools
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

from plutoctl.sandbox.costs import CostModel, Job, demand
from plutoctl.sandbox.faults import Fault, FaultInjector
from plutoctl.sandbox.head import HeadReader
from plutoctl.sandbox.params import nest, parse_pairs
from plutoctl.sandbox.protocol import WebService

log = logging.getLogger(__name__)

ENDPOINT = "/webservice/rest/server.php"


@dataclass(frozen=True)
class LoggedRequest:
    """One request the sandbox received. ``status`` 0 means the connection was dropped.

    ``modelled``: the server seconds the cost model charged the call (one stream's
    time; 0.0 without a cost model). ``duration`` is what it took, from reading the
    request to answering: never less than ``modelled`` alone, more under load.
    """

    function: str | None
    param_count: int
    duration: float
    status: int
    modelled: float = 0.0


class RequestLog:
    """The requests a sandbox received, in order (thread-safe, list-like)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LoggedRequest] = []

    def append(self, entry: LoggedRequest) -> None:
        """Record one request."""
        with self._lock:
            self._entries.append(entry)

    def clear(self) -> None:
        """Forget every recorded request."""
        with self._lock:
            self._entries.clear()

    def count(self, function: str | None = None) -> int:
        """Return how many requests were received (of ``function``, if given)."""
        with self._lock:
            return sum(1 for e in self._entries if function is None or e.function == function)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __getitem__(self, index: int) -> LoggedRequest:
        with self._lock:
            return self._entries[index]

    def __iter__(self) -> Iterator[LoggedRequest]:
        with self._lock:
            return iter(list(self._entries))


class SandboxServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that carries the web service, log and faults."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        max_input_vars: int,
        faults: FaultInjector,
        request_log: RequestLog,
        costs: CostModel | None = None,
    ) -> None:
        self._wake, self._waker = socket.socketpair()  # before binding: a failed bind closes it
        super().__init__(address, _Handler)
        self.max_input_vars = max_input_vars
        self.faults = faults
        self.request_log = request_log
        self.costs = costs
        self.web_service: WebService | None = None
        self.idle = threading.Condition()
        self.open_connections = 0

    def serve_until_stopped(self) -> None:
        """Accept connections until ``stop_serving``, without waking up in between.

        ``serve_forever`` wakes every poll interval to look for ``shutdown()``: an idle
        sandbox then costs CPU all the time it runs, and stops only as fast as it polls.
        """
        with selectors.DefaultSelector() as selector:
            selector.register(self, selectors.EVENT_READ)
            selector.register(self._wake, selectors.EVENT_READ)
            while True:
                ready = selector.select()
                if any(key.fileobj is self._wake for key, _ in ready):
                    return
                self.handle_request()  # a connection is waiting: accepted at once

    def stop_serving(self) -> None:
        """Make ``serve_until_stopped`` return (from any thread)."""
        self._waker.send(b"\0")

    def server_close(self) -> None:
        """Close the listening socket and the wake-up pair."""
        super().server_close()
        self._wake.close()
        self._waker.close()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no client connection is open; return False on timeout."""
        with self.idle:
            return self.idle.wait_for(lambda: self.open_connections == 0, timeout=timeout)


class _Handler(HeadReader):
    server: SandboxServer
    protocol_version = "HTTP/1.1"
    server_version = "PlutoSandbox/1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms stall
    _pending: tuple[str | None, int, float] | None = None
    _job: Job | None = None
    _modelled: float = 0.0

    def handle(self) -> None:
        """Serve one connection, counted open until the client closes it.

        A request a client sent just before it died is still read and run here, so
        "no connection open" means every request that reached the server is done.
        """
        idle = self.server.idle
        with idle:
            self.server.open_connections += 1
        try:
            super().handle()
        finally:
            with idle:
                self.server.open_connections -= 1
                idle.notify_all()

    def do_GET(self) -> None:
        self._handle(body="")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        # PHP fills $_POST from a form-encoded body only: any other body is not read, so
        # the call has no token (Moodle's invalidtoken) unless the URL carries one.
        # (A multipart/form-data body, which PHP does read, is not read here either.)
        media = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        is_form = media == "application/x-www-form-urlencoded"
        self._handle(body=raw.decode("utf-8", errors="replace") if is_form else "")

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The Date header's text, formatted once a second rather than once a call."""
        return _http_date(int(time.time() if timestamp is None else timestamp))

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _handle(self, *, body: str) -> None:
        costs = self.server.costs
        if costs is None:
            self._serve(body=body)
            return
        # The model's time runs from here: a real site's includes reading the request.
        self._job = costs.arrive()
        try:
            self._serve(body=body)
        finally:
            costs.leave(self._job)

    def _serve(self, *, body: str) -> None:
        started = time.perf_counter()
        self._pending = None
        self._modelled = 0.0
        url = urlsplit(self.path)
        if url.path != ENDPOINT:
            self._send(HTTPStatus.NOT_FOUND, b"Not found", "text/plain")
            return
        limit = self.server.max_input_vars + 1  # PHP keeps one variable past the limit
        query, form = parse_pairs(url.query, 1 << 30), parse_pairs(body, 1 << 30)
        request = nest(query[:limit]) | nest(form[:limit])
        function = request.get("wsfunction") if isinstance(request.get("wsfunction"), str) else None
        self._pending = (function, len(query) + len(form), started)
        self._answer(request, function)

    def _record(self, status: int) -> None:
        """Log the request before answering, so a client never outruns the log."""
        if self._pending is None:
            return
        function, count, started = self._pending
        self._pending = None
        duration = time.perf_counter() - started
        entry = LoggedRequest(function, count, duration, status, self._modelled)
        self.server.request_log.append(entry)

    def _answer(self, request: dict, function: str | None) -> int:
        costs = self.server.costs
        if costs is None:
            return self._answer_now(request, function)
        job = self._job
        assert job is not None  # _handle starts it

        def spend(body: bytes) -> None:
            self._modelled = demand(function, request, body)
            costs.finish(job, self._modelled, function or "")

        return self._answer_now(request, function, spend)

    def _answer_now(
        self, request: dict, function: str | None, spend: Callable[[bytes], None] | None = None
    ) -> int:
        service = self.server.web_service
        assert service is not None  # set before the server starts serving
        decision = self.server.faults.decide(function, is_write=service.is_write(function))
        if decision.latency:
            time.sleep(decision.latency)
        failure = decision.failure
        if failure is not None and not (failure.kind == "drop" and failure.after_write):
            return self._fail(failure)
        reply = service.call(request)
        if spend is not None:
            spend(reply.body)  # the cost model: as long as a real site would take
        if failure is not None:
            return self._fail(failure)
        self._send(HTTPStatus.OK, reply.body, reply.content_type)
        return 200

    def _fail(self, failure: Fault) -> int:
        if failure.kind == "drop":
            self._record(0)
            self.close_connection = True
            return 0
        headers = {}
        if failure.retry_after is not None:
            seconds = failure.retry_after
            headers["Retry-After"] = str(int(seconds)) if seconds == int(seconds) else str(seconds)
        phrase = (
            HTTPStatus(failure.status).phrase
            if failure.status in HTTPStatus._value2member_map_
            else "Error"
        )
        self._send(failure.status, f"{failure.status} {phrase}".encode(), "text/plain", headers)
        return failure.status

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self._record(status)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


@functools.lru_cache(maxsize=1)
def _http_date(second: int) -> str:
    return email.utils.formatdate(second, usegmt=True)
