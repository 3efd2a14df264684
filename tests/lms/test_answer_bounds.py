"""An answer's body is read within the call's time and a size bound, against raw
servers on 127.0.0.1 that drip or flood."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import urllib3

from plutoctl.errors import LmsError, TransportError
from plutoctl.lms.client import RetryPolicy, SiteClient
from plutoctl.lms.session import AnswerTooLargeError, read_body

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


@contextmanager
def raw_server(answer: Callable[[socket.socket], None]) -> Iterator[str]:
    """Serve each connection with ``answer`` (after reading the request); yield the URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn, contextlib.suppress(OSError):  # the client hung up, as it should
                read_request(conn)
                answer(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()


def read_request(conn: socket.socket) -> None:
    """Read a whole request: closing with some of it unread would reset the connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        body += conn.recv(65536)


def drip(conn: socket.socket) -> None:
    """A byte every 0.1 s, for ever: each wait on the socket is short."""
    conn.sendall(HEAD + b"Content-Length: 1000000\r\n\r\n")
    for _ in range(10_000):
        conn.sendall(b" ")
        time.sleep(0.1)


def flood(conn: socket.socket) -> None:
    conn.sendall(HEAD + b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"x" * 65536
    for _ in range(100):
        conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    conn.sendall(b"0\r\n\r\n")


def test_a_dripping_answer_ends_when_the_call_time_is_up() -> None:
    with raw_server(drip) as url:
        client = SiteClient("lab", url, "t" * 32, timeout=(1.0, 1.5), retry=RetryPolicy(attempts=1))
        started = time.monotonic()
        with pytest.raises(TransportError) as caught:
            client.read("core_webservice_get_site_info")
        elapsed = time.monotonic() - started
    assert caught.value.errorcode == "timeout"
    assert elapsed < 10  # the drip would last 1,000 s


def test_an_answer_past_the_size_bound_is_refused() -> None:
    with raw_server(flood) as url, urllib3.PoolManager() as pool:
        response = pool.request("POST", url, body=b"x", preload_content=False)
        with pytest.raises(AnswerTooLargeError, match="larger than 1 MiB"):
            read_body(response, 10, limit=2**20)
        response = pool.request("POST", url, body=b"x", preload_content=False)
        assert len(read_body(response, 10, limit=2**24)) == 100 * 65536


def test_the_client_reports_an_answer_too_large(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("plutoctl.lms.session.MAX_ANSWER_BYTES", 2**20)
    with raw_server(flood) as url:
        client = SiteClient("lab", url, "t" * 32, retry=RetryPolicy(attempts=1))
        with pytest.raises(LmsError) as caught:
            client.read("core_webservice_get_site_info")
    assert caught.value.errorcode == "toolarge"
    assert "proxy or gateway" in (caught.value.hint or "")
