"""Keeping the token out of everything an answer becomes: each answer's bytes are
redacted before they are decoded (``redact_bytes``), and names shown in logs and errors
(``redact``)."""

from __future__ import annotations

import base64
import functools
import html
import re
from urllib.parse import quote, quote_plus

REDACTED = "[token]"
ECHO_SIZE = 1 << 20
"""Answers up to this many bytes are searched for the token in base64 too."""


def redact(text: str, token: str) -> str:
    """Return ``text`` with every occurrence of ``token`` (or an encoding of it) replaced."""
    if not token:
        return text
    for form in (token, *_encoded(token), *_base64_forms(token)):
        text = text.replace(form, REDACTED)
    return text


def redact_bytes(body: bytes, token: str) -> bytes:
    """Return an answer's raw bytes with every occurrence of ``token`` replaced.

    Done once, before anything is decoded, so that nothing derived from an answer (an
    error's errorcode, message or debuginfo, warnings, records, quoted bodies) can
    carry a token a site echoed back: as sent, as a form or a URL encodes it, as HTML
    escapes it, in base64, or escaped in JSON. A token of letters and digits (as Moodle
    makes them) has one form but its base64 ones.
    """
    if not token:
        return body
    # Base64 is what a gateway's page quoting the request body holds, not a site's
    # records: searched for in answers up to ECHO_SIZE (every error page and exception),
    # not in the large listings, where six more passes over 100 MB would cost 0.3 s.
    echoed = _base64_forms(token) if len(body) <= ECHO_SIZE else ()
    for form in (token, *_encoded(token), *echoed):
        raw = form.encode()
        if raw in body:
            body = body.replace(raw, REDACTED.encode())
    # JSON may write any character as \uXXXX, and some with a backslash (\/, \"): a
    # site can echo the token so, and the decoded text would hold it. No site escapes
    # letters or digits, so a body without such an escape (nearly every one) is not
    # searched again for a token of letters and digits.
    pattern, always = _escaped(token)
    if always or (b"\\u" in body and _ESCAPED_ASCII.search(body)):
        body = pattern.sub(REDACTED.encode(), body)
    return body


_ESCAPED_ASCII = re.compile(rb"\\u00[2-7][0-9a-fA-F]")
_SHORT_ESCAPES = {
    '"': b'\\"',
    "\\": b"\\\\",
    "/": b"\\/",
    "\b": b"\\b",
    "\f": b"\\f",
    "\n": b"\\n",
    "\r": b"\\r",
    "\t": b"\\t",
}


@functools.lru_cache(maxsize=8)
def _encoded(token: str) -> tuple[str, ...]:
    """Return the forms of ``token`` other than itself that a site may echo it in: as a
    form or a URL encodes it (Python's way, PHP's, hex in either case), as HTML escapes
    it (PHP's ``htmlspecialchars`` writes ``'`` as ``&#039;``), or in base64 (a gateway
    quoting the request body: ``_base64_forms``)."""
    percent = (
        quote_plus(token),  # as the request body carries it
        quote(token, safe=""),
        quote_plus(token, safe="").replace("~", "%7E"),  # PHP's urlencode
        quote(token, safe="/"),
    )
    forms = [
        *percent,
        *(_LOWER_HEX.sub(lambda m: m.group(0).lower(), form) for form in percent),
        html.escape(token),
        html.escape(token, quote=False),
        html.escape(token).replace("&#x27;", "&#039;"),
    ]
    return tuple(form for form in dict.fromkeys(forms) if form != token)


_LOWER_HEX = re.compile(r"%[0-9A-F]{2}")
_BASE64_SHORTEST = 8  # shorter runs of base64 would be found in any answer's text


@functools.lru_cache(maxsize=8)
def _base64_forms(token: str) -> tuple[str, ...]:
    """Return the runs of base64 (standard and URL-safe) that hold ``token`` wherever it
    starts in the encoded bytes: each of the three alignments, less the characters the
    bytes around it also decide."""
    raw = token.encode()
    runs = []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).rstrip(b"=")
        start = -(-4 * offset // 3)  # characters the bytes before the token decide too
        end = len(encoded) - (1 if (offset + len(raw)) % 3 else 0)  # and the bytes after
        run = encoded[start:end].decode()
        if len(run) >= _BASE64_SHORTEST:
            runs += [run, run.replace("+", "-").replace("/", "_")]
    return tuple(dict.fromkeys(runs))


@functools.lru_cache(maxsize=8)
def _escaped(token: str) -> tuple[re.Pattern[bytes], bool]:
    """Return a pattern matching ``token`` in JSON text, each character plain or escaped,
    and whether a body must always be searched with it: a token with a character JSON
    may escape with a backslash alone, a control character (\\u001b), or one past ASCII
    (\\u00e9)."""
    parts = []
    for char in token:
        forms = [re.escape(char.encode()), _unicode_escape(char)]
        if char in _SHORT_ESCAPES:
            forms.append(re.escape(_SHORT_ESCAPES[char]))
        parts.append(b"(?:%s)" % b"|".join(forms))
    always = any(
        char in _SHORT_ESCAPES or not char.isascii() or char < " " or char == "\x7f"
        for char in token
    )
    return re.compile(b"".join(parts)), always


def _unicode_escape(char: str) -> bytes:
    """Return a pattern of ``char`` as JSON's \\uXXXX (a surrogate pair past U+FFFF)."""
    units = char.encode("utf-16-be")
    codes = [int.from_bytes(units[i : i + 2], "big") for i in range(0, len(units), 2)]
    return b"".join(b"\\\\u(?i:%04x)" % code for code in codes)
