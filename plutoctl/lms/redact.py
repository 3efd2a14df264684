"""Keeping the token out of everything an answer becomes: each answer's bytes are
redacted before they are decoded (``redact_bytes``), and names shown in logs and errors
(``redact``)."""

from __future__ import annotations

import functools
import re

REDACTED = "[token]"


def redact(text: str, token: str) -> str:
    """Return ``text`` with every occurrence of ``token`` replaced."""
    return text.replace(token, REDACTED) if token else text


def redact_bytes(body: bytes, token: str) -> bytes:
    """Return an answer's raw bytes with every occurrence of ``token`` replaced.

    Done once, before anything is decoded, so that nothing derived from an answer (an
    error's errorcode, message or debuginfo, warnings, records, quoted bodies) can
    carry a token a site echoed back.
    """
    if not token:
        return body
    raw = token.encode()
    if raw in body:
        body = body.replace(raw, REDACTED.encode())
    # JSON may write any character as \uXXXX: a site can echo the token so, and the
    # decoded text would hold it. No site escapes letters or digits, so a body without
    # such an escape (nearly every one) is not searched again.
    if b"\\u" in body and _ESCAPED_ASCII.search(body):
        body = _escaped(token).sub(REDACTED.encode(), body)
    return body


_ESCAPED_ASCII = re.compile(rb"\\u00[2-7][0-9a-fA-F]")


@functools.lru_cache(maxsize=8)
def _escaped(token: str) -> re.Pattern[bytes]:
    """Return a pattern matching ``token`` in JSON text, each character plain or escaped."""
    parts = []
    for char in token:
        plain = re.escape(char.encode())
        if char.isascii():
            parts.append(b"(?:%s|\\\\u(?i:%04x))" % (plain, ord(char)))
        else:
            parts.append(plain)
    return re.compile(b"".join(parts))
