"""The environment's HTTP settings reach every call: a proxy from ``HTTP_PROXY`` and a
``.netrc`` login, against a forward proxy on 127.0.0.1 in front of the sandbox."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import urllib3

from plutoctl.lms.client import RetryPolicy, SiteClient
from plutoctl.sandbox import Sandbox


@contextmanager
def forward_proxy(target: str) -> Iterator[tuple[str, list[tuple[str, str | None]]]]:
    """A proxy that relays each POST to ``target``; yield its URL and (request line,
    Authorization) of each request it got."""
    seen: list[tuple[str, str | None]] = []
    relay = urllib3.PoolManager()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            seen.append((self.requestline, self.headers.get("Authorization")))
            body = self.rfile.read(int(self.headers["Content-Length"]))
            path = self.path.split("/", 3)[3]  # the absolute URL a proxy is asked for
            answer = relay.request(
                "POST",
                f"{target}/{path}",
                body=body,
                headers={"Content-Type": self.headers["Content-Type"]},
            )
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer.data)))
            self.end_headers()
            self.wfile.write(answer.data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("clean_environment")
def test_calls_go_through_the_proxy_the_environment_names(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox.store.add_user("ann")
    site = "http://lms.invalid"  # resolvable by the proxy's relay only
    with forward_proxy(sandbox.url) as (proxy, seen):
        monkeypatch.setenv("HTTP_PROXY", proxy)
        monkeypatch.setenv("http_proxy", proxy)
        client = SiteClient("lab", site, sandbox.token, retry=RetryPolicy(attempts=1))
        try:
            assert client.site_info().functions
            assert client.read("core_cohort_get_cohorts") == []
        finally:
            client.close()
    assert [line for line, _ in seen] == [
        f"POST {site}/webservice/rest/server.php HTTP/1.1",
    ] * 2


@pytest.mark.usefixtures("clean_environment")
def test_a_netrc_login_is_sent_with_every_call(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine lms.invalid login gate password s3cret\n", encoding="utf-8")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with forward_proxy(sandbox.url) as (proxy, seen):
        monkeypatch.setenv("HTTP_PROXY", proxy)
        monkeypatch.setenv("http_proxy", proxy)
        client = SiteClient("lab", "http://lms.invalid", sandbox.token)
        try:
            client.read("core_cohort_get_cohorts")
            client.read("core_cohort_get_cohorts")
        finally:
            client.close()
    expected = "Basic " + base64.b64encode(b"gate:s3cret").decode()
    assert [auth for _, auth in seen] == [expected, expected]
