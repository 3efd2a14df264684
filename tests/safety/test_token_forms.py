"""A token of any characters stays out of output and logs in every form a site may echo
it in: as sent (form-encoded), URL-encoded, HTML-escaped, or escaped in JSON.

Moodle's tokens are letters and digits, whose forms are all the same; a token from a
gateway or another issuer need not be."""

from __future__ import annotations

import html
import json
import logging
import re
from base64 import b64decode, b64encode, urlsafe_b64encode
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from urllib.parse import quote, quote_plus, urlencode

import pytest
from hostile_http import Answer, serve
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
        "url-encoded, / kept": quote(token).encode(),
        "url-encoded, hex in lower case": re.sub(
            "%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(token, safe="")
        ).encode(),
        "PHP's urlencode": quote_plus(token, safe="").replace("~", "%7E").encode(),
        "html": html.escape(token).encode(),
        "html, quotes kept": html.escape(token, quote=False).encode(),
        "PHP's htmlspecialchars": html.escape(token).replace("&#x27;", "&#039;").encode(),
        "json": json.dumps(token).encode(),
        "json, not ascii kept": json.dumps(token, ensure_ascii=False).encode(),
        "json, slashes escaped": json.dumps(token).replace("/", "\\/").encode(),
    }


def quoted_in_base64(token: str) -> dict[str, bytes]:
    """A request body quoted in base64 (a gateway's page), the token at each alignment."""
    return {
        f"{alphabet}, after {len(before)} byte(s)": encode(before + token.encode() + b"&x=1")
        for before in (b"", b"w", b"wstoken=")
        for alphabet, encode in (("base64", b64encode), ("base64url", urlsafe_b64encode))
    }


def recoverable(token: str, shown: bytes) -> bool:
    """Whether the token can be read back from base64 anywhere in ``shown``."""
    for run in re.findall(rb"[A-Za-z0-9+/=_-]{8,}", shown):
        for start in range(4):
            chunk = run[start:].replace(b"-", b"+").replace(b"_", b"/").rstrip(b"=")
            chunk = chunk[: len(chunk) - len(chunk) % 4]
            with suppress(ValueError):
                if token.encode() in b64decode(chunk):
                    return True
    return False


@given(token=st.text(min_size=8, max_size=40).filter(lambda t: t.strip() == t))
def test_every_form_of_a_token_is_redacted(token: str) -> None:
    for form in forms(token).values():
        body = b'{"message": "bad token ' + form + b' given"}'
        out = redact_bytes(body, token)
        assert b"[token]" in out
        assert all(other not in out for other in forms(token).values() if len(other) > 2)
    assert token not in redact(f"Location: /x?t={quote_plus(token)}&u={token}", token)
    for form in quoted_in_base64(token).values():
        out = redact_bytes(b"<p>Blocked: " + form + b"</p>", token)
        assert not recoverable(token, out), out


HTML = (("Content-Type", "text/html"),)
PAGES: dict[str, Callable[[dict[str, str]], Answer]] = {
    # A gateway's page quoting the request body, form-encoded as it was sent.
    "the request echoed": lambda form: Answer(
        200, b"<html>Blocked: " + urlencode(form).encode() + b"</html>", HTML
    ),
    "the token escaped": lambda form: Answer(
        200, f"<p>Bad token {html.escape(form['wstoken'])}</p>".encode(), HTML
    ),
}


@pytest.mark.parametrize("page", list(PAGES.values()), ids=list(PAGES))
def test_an_odd_token_echoed_by_a_site_is_in_no_output_or_log(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    page: Callable[[dict[str, str]], Answer],
) -> None:
    monkeypatch.setenv("PLUTO_TOKEN_ODD", ODD_TOKEN)
    caplog.set_level(logging.DEBUG)
    with serve() as site:
        site.script("*", page)
        url = site.url
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
