"""The head of an HTTP request (request line and headers), read as http.server reads it.

``http.server`` hands the header block to the ``email`` package's feed parser, which
is about a fifth of the sandbox's CPU per call. ``read_headers`` reads the same lines
under the same limits and parses the usual ``Name: value`` lines itself; a block
with anything else in it (a folded line, a line without a name, a stray line
break) is left to the ``email`` package as before, so every request gets the headers
it got from ``http.client.parse_headers``. ``HeadReader.parse_request`` is
``BaseHTTPRequestHandler.parse_request`` (Python 3.11) with that one call replaced.
"""

from __future__ import annotations

import email.parser
import re
from http import HTTPStatus
from http.client import HTTPException, HTTPMessage, LineTooLong
from http.server import BaseHTTPRequestHandler
from io import BufferedIOBase

MAX_LINE = 65536  # http.client's limits
MAX_HEADERS = 100
_ENDS = (b"\r\n", b"\n", b"")
# What the feed parser takes as one header line: a name of printable ASCII without
# ":", a value with no character it would split the line at.
_SIMPLE_LINE = re.compile(r"([!-9;-~]+):[ \t]*([^\r\n\x0b\x0c\x1c-\x1e\x85]*)\r?\n")


def read_headers(rfile: BufferedIOBase) -> HTTPMessage:
    """Read a header block as ``http.client.parse_headers(rfile)`` does, and return it.

    Raises ``LineTooLong`` or ``HTTPException`` where that does.
    """
    lines: list[bytes] = []
    while True:
        line = rfile.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise LineTooLong("header line")
        lines.append(line)
        if len(lines) > MAX_HEADERS:
            raise HTTPException(f"got more than {MAX_HEADERS} headers")
        if line in _ENDS:
            break
    message = HTTPMessage()
    for line in lines[:-1]:
        match = _SIMPLE_LINE.fullmatch(line.decode("iso-8859-1"))
        if match is None:
            text = b"".join(lines).decode("iso-8859-1")
            return email.parser.Parser(_class=HTTPMessage).parsestr(text)
        message[match[1]] = match[2]
    message.set_payload("")  # as the email package leaves it: no body after the headers
    return message


class HeadReader(BaseHTTPRequestHandler):
    """A request handler whose headers are read by ``read_headers``."""

    raw_requestline: bytes  # set by handle_one_request

    def parse_request(self) -> bool:
        """Parse the request line and headers; on failure answer the error, return False."""
        self.command = None  # type: ignore[assignment]  # as http.server: none until parsed
        self.request_version = version = self.default_request_version
        self.close_connection = True
        requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.requestline = requestline
        words = requestline.split()
        if len(words) == 0:
            return False
        if len(words) >= 3:  # enough to determine the protocol version
            version = words[-1]
            try:
                if not version.startswith("HTTP/"):
                    raise ValueError
                base_version_number = version.split("/", 1)[1]
                parts = base_version_number.split(".")
                if len(parts) != 2:
                    raise ValueError
                if any(not part.isdigit() or len(part) > 10 for part in parts):
                    raise ValueError
                number = int(parts[0]), int(parts[1])
            except (ValueError, IndexError):
                self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request version ({version!r})")
                return False
            if number >= (1, 1) and self.protocol_version >= "HTTP/1.1":
                self.close_connection = False
            if number >= (2, 0):
                self.send_error(
                    HTTPStatus.HTTP_VERSION_NOT_SUPPORTED,
                    f"Invalid HTTP version ({base_version_number})",
                )
                return False
            self.request_version = version
        if not 2 <= len(words) <= 3:
            self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request syntax ({requestline!r})")
            return False
        command, path = words[:2]
        if len(words) == 2:
            self.close_connection = True
            if command != "GET":
                self.send_error(HTTPStatus.BAD_REQUEST, f"Bad HTTP/0.9 request type ({command!r})")
                return False
        self.command, self.path = command, path
        if self.path.startswith("//"):  # gh-87389: no open redirect through "//host"
            self.path = "/" + self.path.lstrip("/")
        try:
            self.headers = read_headers(self.rfile)
        except LineTooLong as err:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long", str(err))
            return False
        except HTTPException as err:
            too_many = "Too many headers"
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, too_many, str(err))
            return False
        connection = self.headers.get("Connection", "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive" and self.protocol_version >= "HTTP/1.1":
            self.close_connection = False
        expect = self.headers.get("Expect", "").lower()
        if (
            expect == "100-continue"
            and self.protocol_version >= "HTTP/1.1"
            and self.request_version >= "HTTP/1.1"
        ):
            return self.handle_expect_100()
        return True
