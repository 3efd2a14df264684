"""The web-service REST protocol, without HTTP: authenticate, dispatch, validate, encode.

``WebService.call`` takes the merged request variables and returns the response body
and content type, following ``webservice/rest/server.php``: the reserved keys come
out first, then the token is checked, then the function name (missing, unknown, not
in the service), then the parameters, then the function runs in one transaction.
Errors are HTTP 200 bodies in the requested format (XML when none is asked for).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from plutoctl.phptext import strip_tags
from plutoctl.sandbox.functions import KNOWN_ELSEWHERE, CallContext, WsFunction
from plutoctl.sandbox.params import Nested, validate
from plutoctl.sandbox.store import Store
from plutoctl.sandbox.wserrors import (
    WsError,
    access_exception,
    invalid_parameter,
    invalid_token,
    missing_record,
    not_implemented,
)

log = logging.getLogger(__name__)

RESERVED = ("wstoken", "wsfunction", "moodlewsrestformat")
SETTINGS = tuple(
    f"moodlewssetting{name}" for name in ("raw", "fileurl", "filter", "lang", "timezone")
)
FORMATTED_KEYS = frozenset({"name", "fullname", "displayname"})
JSON_TYPE = "application/json"  # what Moodle 4.5 sends: no charset (the body is ASCII)
XML_TYPE = "application/xml; charset=utf-8"


@dataclass(frozen=True)
class Reply:
    """An encoded response body and its content type (always HTTP 200)."""

    body: bytes
    content_type: str


@dataclass(frozen=True)
class WebService:
    """The site's web-service layer: its token, service and functions."""

    store: Store
    token: str
    functions: Mapping[str, WsFunction]
    service: tuple[str, ...]
    site_url: str
    is_debug: bool = False

    def is_write(self, name: str | None) -> bool:
        """Return whether ``name`` is a write function (for fault matching)."""
        function = self.functions.get(name or "")
        return function is not None and function.is_write

    def call(self, request: Nested) -> Reply:
        """Answer one request given its merged variables."""
        variables = dict(request)
        reserved = {key: variables.pop(key, None) for key in RESERVED}
        settings = {key: variables.pop(key, None) for key in SETTINGS}
        is_json = reserved["moodlewsrestformat"] == "json"
        try:
            result = self._run(reserved["wstoken"], reserved["wsfunction"], variables)
        except WsError as exc:
            return _error_reply(exc, is_json=is_json, debug=self.is_debug)
        function = self.functions.get(str(reserved["wsfunction"]))
        is_raw = function is not None and function.is_raw_answer
        if settings["moodlewssettingraw"] not in ("1", "true") and not is_raw:
            result = _format_names(result)
        return _json_reply(result) if is_json else Reply(_xml_response(result), XML_TYPE)

    def _run(self, token: Any, name: Any, params: Nested) -> Any:
        if not isinstance(token, str) or token != self.token:
            raise invalid_token()
        if not name:
            raise invalid_parameter("Missing function name")
        if not isinstance(name, str) or (
            name not in self.functions and name not in KNOWN_ELSEWHERE
        ):
            raise missing_record("external_functions")
        if name not in self.service:
            raise access_exception(name)
        function = self.functions.get(name)
        if function is None:
            raise not_implemented(name)
        args = validate(function.params, params)
        with self.store.transaction() as db:
            context = CallContext(db, self.site_url, self.service, self.store.memory)
            return function.handler(context, args)


# --- encoding -------------------------------------------------------------------


def encode_json(value: Any) -> bytes:
    """Encode like PHP's json_encode: ASCII only, slashes escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=True)
    return text.replace("/", "\\/").encode()


def _json_reply(value: Any) -> Reply:
    return Reply(encode_json(value), JSON_TYPE)


def _error_reply(exc: WsError, *, is_json: bool, debug: bool) -> Reply:
    body = exc.body(debug=debug)
    if is_json:
        return _json_reply(body)
    lines = [
        '<?xml version="1.0" encoding="UTF-8" ?>',
        f"<EXCEPTION class={quoteattr(body['exception'])}>",
        *([f"<ERRORCODE>{escape(body['errorcode'])}</ERRORCODE>"] if "errorcode" in body else []),
        f"<MESSAGE>{escape(body['message'])}</MESSAGE>",
    ]
    if "debuginfo" in body:
        lines.append(f"<DEBUGINFO>{escape(body['debuginfo'])}</DEBUGINFO>")
    lines.append("</EXCEPTION>")
    return Reply(("\n".join(lines) + "\n").encode(), XML_TYPE)


def _xml_response(value: Any) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE>\n' + _xml(value) + "</RESPONSE>\n"
    ).encode()


def _xml(value: Any) -> str:
    match value:
        case None:
            return ""
        case list():
            return "<MULTIPLE>\n" + "".join(_xml_single(item) for item in value) + "</MULTIPLE>\n"
        case dict():
            return _xml_single(value)
        case bool():
            return f"<VALUE>{int(value)}</VALUE>\n"
        case _:
            return f"<VALUE>{escape(str(value))}</VALUE>\n"


def _xml_single(value: Any) -> str:
    if not isinstance(value, dict):
        return _xml(value)
    keys = "".join(f"<KEY name={quoteattr(k)}>{_xml(v)}</KEY>\n" for k, v in value.items())
    return f"<SINGLE>\n{keys}</SINGLE>\n"


_BARE_AMPERSAND = re.compile(r"&(?!#?\w+;)")


def format_string(text: str) -> str:
    """Format a name as Moodle's format_string does: strip tags, escape bare ``&``."""
    if "<" not in text and "&" not in text:  # most names: nothing to do (every call)
        return text
    return _BARE_AMPERSAND.sub("&amp;", strip_tags(text))


def _format_names(value: Any) -> Any:
    match value:
        case list():
            return [_format_names(item) for item in value]
        case dict():
            return {
                key: format_string(item)
                if key in FORMATTED_KEYS and isinstance(item, str)
                else _format_names(item)
                for key, item in value.items()
            }
        case _:
            return value
