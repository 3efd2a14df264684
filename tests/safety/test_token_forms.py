"""A token of any characters stays out of output and logs in every form a site may echo
it in: as sent (form-encoded), URL-encoded, HTML-escaped, or escaped in JSON.

Moodle's tokens are letters and digits, whose forms are all the same; a token from a
gateway or another issuer need not be."""

from __future__ import annotations

import html
import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, quote_plus

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plutoctl.cli import main
from plutoctl.lms.redact import redact, redact_bytes

ODD_TOKEN = 's3cr&t=+% "x"/\'$tok\\<é>😀'


def forms(token: str) -> dict[str, bytes]:
    """The token as a site could echo it."""
    return {
        "plain": token.encode(),
        "form-encoded": quote_plus(token).encode(),
        "url-encoded": quote(token, safe="").encode(),
        "html": html.escape(token).encode(),
        "html, quotes kept": html.escape(token, quote=False).encode(),
        "json": json.dumps(token).encode(),
        "json, not ascii kept": json.dumps(token, ensure_ascii=False).encode(),
        "json, slashes escaped": json.dumps(token).replace("/", "\\/").encode(),
    }


@given(token=st.text(min_size=8, max_size=40).filter(lambda t: t.strip() == t))
def test_every_form_of_a_token_is_redacted(token: str) -> None:
    for form in forms(token).values():
        body = b'{"message": "bad token ' + form + b' given"}'
        out = redact_bytes(body, token)
        assert b"[token]" in out
        assert all(other not in out for other in forms(token).values() if len(other) > 2)
    assert token not in redact(f"Location: /x?t={quote_plus(token)}&u={token}", token)


@contextmanager
def echoing_site(page: Callable[[bytes, str], bytes]) -> Iterator[str]:
    """A site that answers every call with an HTML page made of the request body."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            token = parse_qs(body.decode())["wstoken"][0]
            answer = page(body, token)
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


PAGES: dict[str, Callable[[bytes, str], bytes]] = {
    "the request echoed": lambda body, _token: b"<html>Blocked: " + body + b"</html>",
    "the token escaped": lambda _body, token: f"<p>Bad token {html.escape(token)}</p>".encode(),
}


@pytest.mark.parametrize("page", list(PAGES.values()), ids=list(PAGES))
def test_an_odd_token_echoed_by_a_site_is_in_no_output_or_log(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    page: Callable[[bytes, str], bytes],
) -> None:
    monkeypatch.setenv("PLUTO_TOKEN_ODD", ODD_TOKEN)
    caplog.set_level(logging.DEBUG)
    with echoing_site(page) as url:
        config = tmp_path / "segments.yaml"
        config.write_text(
            f"version: 1\nsites:\n  odd:\n    url: {url}\n    token: ${{PLUTO_TOKEN_ODD}}\n"
            "segments:\n  team:\n    name: Team\n    members: [ann]\n",
            encoding="utf-8",
        )
        code = main(["--debug", "plan", "-c", str(config)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "[token]" in out + err  # the echo was shown, redacted
    shown = out + err + caplog.text
    leaks = [name for name, form in forms(ODD_TOKEN).items() if form.decode() in shown]
    assert leaks == []
