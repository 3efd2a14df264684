"""Answers are read whole, however long, and a body cut short is a failed call, not an answer."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from plutoctl.errors import TransportError
from plutoctl.lms.client import RetryPolicy, SiteClient

# About 3.4 MB: more than three of the chunks the client reads at a time (1 MB).
USERS = [{"id": i, "username": f"user{i:06d}", "lastname": "x" * 20} for i in range(2, 50_002)]


@contextmanager
def _site(body: bytes, *, declared: int | None = None) -> Iterator[str]:
    """Answer every POST with ``body``, declaring ``declared`` bytes (a shorter body is cut)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(declared or len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _client(url: str) -> SiteClient:
    return SiteClient("s", url, "0123abcd", retry=RetryPolicy.without_waiting(attempts=2))


def test_a_long_answer_is_read_whole() -> None:
    body = json.dumps(USERS).encode()
    assert len(body) > 3 * 2**20
    with _site(body) as url:
        assert _client(url).read("core_user_get_users_by_field") == USERS


def test_an_answer_cut_short_fails_the_call_after_its_retries() -> None:
    body = json.dumps(USERS).encode()
    with _site(body[: 2 * 2**20 + 5], declared=len(body)) as url:
        client = _client(url)
        with pytest.raises(TransportError) as caught:
            client.read("core_user_get_users_by_field")
    assert "(connection: " in str(caught.value)
    assert client.calls["core_user_get_users_by_field"] == 2
