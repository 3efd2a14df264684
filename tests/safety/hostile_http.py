"""Small misbehaving HTTP servers on 127.0.0.1 (port 0) for the safety tests.

``HostileProxy`` stands in front of a sandbox and forwards every call, except those
a test scripts to answer otherwise (a redirect, an answer echoing the token, HTML).
``Recorder`` is "another host": it records whatever reaches it, so a test can prove
that nothing (and no token) did. Both speak plain HTTP, or HTTPS with a certificate
made by ``self_signed``.
"""

from __future__ import annotations

import http.client
import json
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

ENDPOINT = "/webservice/rest/server.php"
POLL_INTERVAL = 0.01


@dataclass(frozen=True)
class Answer:
    """What a scripted call gets back instead of the sandbox's answer."""

    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, value: object) -> Answer:
        return cls(200, json.dumps(value).encode(), (("Content-Type", "application/json"),))


Script = Callable[[dict[str, str]], Answer | None]
"""Given a call's form fields, return the answer to give, or None to forward it."""


@dataclass
class Received:
    """One request a server received."""

    method: str
    path: str
    body: bytes


@dataclass
class _State:
    upstream: str | None
    scripts: dict[str, Script] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    state: _State

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._handle(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._handle(self.rfile.read(length))

    def _handle(self, body: bytes) -> None:
        with self.state.lock:
            self.state.received.append(Received(self.command, self.path, body))
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        script = self.state.scripts.get(form.get("wsfunction", "")) or self.state.scripts.get("*")
        answer = script(form) if script else None
        if answer is None:
            answer = self._forward(body) if self.state.upstream else Answer.json({})
        with suppress(BrokenPipeError, ConnectionResetError):  # its client left
            self.send_response(answer.status)
            for name, value in answer.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

    def _forward(self, body: bytes) -> Answer:
        upstream = urlsplit(self.state.upstream or "")
        connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
        try:
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            connection.request("POST", upstream.path.rstrip("/") + ENDPOINT, body, headers)
            response = connection.getresponse()
            data = response.read()
            kept = tuple((k, v) for k, v in response.getheaders() if k.lower() == "content-type")
            return Answer(response.status, data, kept)
        finally:
            connection.close()


class HostileServer:
    """A running server: its ``url``, what it ``received``, and the calls it scripts."""

    def __init__(self, state: _State, url: str) -> None:
        self._state = state
        self.url = url

    def script(self, function: str, answer: Script) -> None:
        """Answer calls of ``function`` (``*`` for every call) with ``answer``."""
        with self._state.lock:
            self._state.scripts[function] = answer

    @property
    def received(self) -> list[Received]:
        with self._state.lock:
            return list(self._state.received)


@contextmanager
def serve(
    upstream: str | None = None, *, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1"
) -> Iterator[HostileServer]:
    """Run a server on ``host``, port 0: a proxy to ``upstream``, or a recorder without."""
    state = _State(upstream)
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    # serve_forever looks for shutdown() every poll_interval (0.5 s by default): each
    # server a test starts would cost that much on the way out.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": POLL_INTERVAL}, daemon=True
    )
    thread.start()
    scheme = "https" if tls else "http"
    try:
        yield HostileServer(state, f"{scheme}://{host}:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()


def self_signed(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """Make a certificate for 127.0.0.1 with openssl; return a server context and the CA file."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, cert
