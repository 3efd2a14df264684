"""Keeping the token out of everything an answer becomes: each answer's bytes are
redacted before they are decoded (``redact_bytes``), and names shown in logs and errors
(``redact``)."""

from __future__ import annotations

import functools
import html
import re
from urllib.parse import quote, quote_plus

REDACTED = "[token]"


def redact(text: str, token: str) -> str:
    """Return ``text`` with every occurrence of ``token`` (or an encoding of it) replaced."""
    if not token:
        return text
    for form in (token, *_encoded(token)):
        text = text.replace(form, REDACTED)
    return text


def redact_bytes(body: bytes, token: str) -> bytes:
    """Return an answer's raw bytes with every occurrence of ``token`` replaced.

    Done once, before anything is decoded, so that nothing derived from an answer (an
    error's errorcode, message or debuginfo, warnings, records, quoted bodies) can
    carry a token a site echoed back: as sent, as a form or a URL encodes it, as HTML
    escapes it, or escaped in JSON. A token of letters and digits (as Moodle makes
    them) has one form and is searched for once.
    """
    if not token:
        return body
    for form in (token, *_encoded(token)):
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
    """Return the forms of ``token`` other than itself that a site may echo it in."""
    forms = (
        quote_plus(token),  # as the request body carries it
        quote(token, safe=""),
        html.escape(token),
        html.escape(token, quote=False),
    )
    return tuple(form for form in dict.fromkeys(forms) if form != token)


@functools.lru_cache(maxsize=8)
def _escaped(token: str) -> tuple[re.Pattern[bytes], bool]:
    """Return a pattern matching ``token`` in JSON text, each character plain or escaped,
    and whether a body must always be searched with it: a token with a character JSON
    may escape with a backslash alone, or one past ASCII (\\u00e9)."""
    parts = []
    for char in token:
        forms = [re.escape(char.encode()), _unicode_escape(char)]
        if char in _SHORT_ESCAPES:
            forms.append(re.escape(_SHORT_ESCAPES[char]))
        parts.append(b"(?:%s)" % b"|".join(forms))
    always = any(char in _SHORT_ESCAPES or not char.isascii() for char in token)
    return re.compile(b"".join(parts)), always


def _unicode_escape(char: str) -> bytes:
    """Return a pattern of ``char`` as JSON's \\uXXXX (a surrogate pair past U+FFFF)."""
    units = char.encode("utf-16-be")
    codes = [int.from_bytes(units[i : i + 2], "big") for i in range(0, len(units), 2)]
    return b"".join(b"\\\\u(?i:%04x)" % code for code in codes)
