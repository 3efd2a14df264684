"""The sandbox reads a request's headers and form variables as the standard library does.

``read_headers`` and ``parse_pairs`` are cheaper stand-ins for
``http.client.parse_headers`` and ``urllib.parse.parse_qsl``: for every input they
must give what those give, down to the odd cases (folded header lines, stray line
breaks, invalid or non-ASCII escapes, escaped separators).
"""

from __future__ import annotations

import http.client
import io
from urllib.parse import parse_qsl

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from plutoctl.sandbox.head import read_headers
from plutoctl.sandbox.params import parse_pairs

FORM_PARTS = [
    *("%5B", "%5D", "%5b", "%41", "%7e", "%25", "%26", "%3D", "%3d", "%2B", "%20", "%0A"),
    *("%C3%A9", "%C3", "%A9", "%E2%82", "%FF", "%zz", "%4", "%", "%%", "+", "&", "=", "[", "]"),
    *("a", "0", "é", "\u2028", "\ud800"),
]
form_part = st.one_of(st.sampled_from(FORM_PARTS), st.text(max_size=3))
form_text = st.lists(form_part, max_size=40).map("".join)


@given(form_text, st.integers(min_value=0, max_value=12))
@settings(max_examples=150)
@example("a=%%311&b=%11", 5)  # an escape that unescaping could make: stays as it was
@example("members%5B0%5D%5Bname%5D=x+y&members%5B0%5D%5Bid%5D=%40", 5)
def test_form_pairs_are_parse_qsls(text: str, limit: int) -> None:
    assert parse_pairs(text, limit) == parse_qsl(text, keep_blank_values=True)[:limit]


HEADER_LINES = [
    "Host: 127.0.0.1:8080\r\n",
    "Content-Length: 12\r\n",
    "content-type:application/x-www-form-urlencoded\n",
    "Connection: close\r\n",
    "X-Empty:\r\n",
    "X-Time:12:30\r\n",
    "X-Spaces: \t a b  \r\n",
    "X-Latin: \xe9\xff\r\n",
    " folded onto the line before\r\n",
    "\tfolded with a tab\r\n",
    "No colon here\r\n",
    ": no name\r\n",
    "Bad Name: x\r\n",
    "From someone\r\n",
    "X-Break: a\rb\r\n",
    "X-Odd: a\x85b\x0bc\x1cd\r\n",
    "X-Cut: no line end",
]
header_block = st.tuples(
    st.lists(
        st.one_of(
            st.sampled_from(HEADER_LINES),
            st.builds(
                "{}:{}\r\n".format,
                st.text(st.characters(max_codepoint=255), max_size=4),
                st.text(st.characters(max_codepoint=255), max_size=4),
            ),
        ),
        max_size=8,
    ),
    st.sampled_from(["\r\n", "\n", "", "\r\nbody after the head"]),
).map(lambda parts: ("".join(parts[0]) + parts[1]).encode("iso-8859-1"))


def read_both(block: bytes) -> list[tuple[object, object, int]]:
    """Return (headers or error, payload, bytes read) from each reader."""
    results = []
    for reader in (read_headers, http.client.parse_headers):
        stream = io.BytesIO(block)
        try:
            message = reader(stream)
        except http.client.HTTPException as exc:
            results.append(((type(exc), str(exc)), None, stream.tell()))
        else:
            results.append((message.items(), message.get_payload(), stream.tell()))
    return results


@given(header_block)
@settings(max_examples=150)
@example(b"Host: a\r\nContent-Length: 3\r\n\r\nabc")
@example(b"X-Time:12:30\r\n\r\n")  # the name ends at the first colon
def test_headers_are_parse_headers(block: bytes) -> None:
    ours, standard = read_both(block)
    assert ours == standard


@pytest.mark.parametrize(
    "block",
    [
        b"X: " + b"a" * 70000 + b"\r\n\r\n",  # a line too long
        b"".join(b"X-%d: v\r\n" % i for i in range(101)) + b"\r\n",  # too many headers
        b"".join(b"X-%d: v\r\n" % i for i in range(99)) + b"\r\n",  # just few enough
    ],
    ids=["line-too-long", "too-many-headers", "just-few-enough"],
)
def test_header_limits_are_parse_headers(block: bytes) -> None:
    ours, standard = read_both(block)
    assert ours == standard
