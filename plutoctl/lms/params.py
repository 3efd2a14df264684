"""A call on the wire: the endpoint, and PHP-bracket flattening of its parameters.

Moodle's REST server reads nested parameters as PHP request arrays
(``cohorts[0][categorytype][type]=system``); ``requests`` does not build these keys,
so the client flattens every call here. Booleans go as ``1``/``0`` (Moodle rejects
``true``), ``None`` and empty lists are omitted (an empty list cannot be expressed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus

Pairs = list[tuple[str, str]]

ENDPOINT = "/webservice/rest/server.php"
"""Where every call goes, under the site's root URL."""
FORM_TYPE = "application/x-www-form-urlencoded"
_PLAIN = re.compile(r"[A-Za-z0-9_.~\-\[\]=&]*")


def flatten(params: Mapping[str, Any]) -> Pairs:
    """Return ``params`` as form fields with PHP-bracket keys, in a stable order."""
    pairs: Pairs = []
    for key, value in params.items():
        _flatten_into(pairs, str(key), value)
    return pairs


def count_vars(params: Mapping[str, Any]) -> int:
    """Return how many request variables ``params`` becomes once flattened."""
    return sum(_count(value) for value in params.values())


def count_item_vars(items: list[Any]) -> list[int]:
    """Return how many request variables each entry of a list parameter becomes."""
    return list(map(_count, items))


def _count(value: Any) -> int:
    kind = type(value)  # exact types first: a write's items are counted one by one
    if kind is str or kind is int:
        return 1
    if kind is dict or isinstance(value, Mapping):
        return sum(map(_count, value.values()))
    if kind is list or isinstance(value, list | tuple):
        return sum(map(_count, value))
    return 0 if value is None else 1


def encode_form(pairs: Pairs) -> bytes:
    """Return ``pairs`` as an ``application/x-www-form-urlencoded`` body.

    Byte for byte what ``urllib.parse.urlencode`` (and so ``requests``) makes of them,
    in a few C-level passes when every key and value is plain (letters, digits,
    ``_.-~`` and the brackets of PHP keys, as in nearly every web-service call): only
    the brackets need escaping then. Anything else goes through ``quote_plus``.
    """
    text = "&".join([f"{key}={value}" for key, value in pairs])
    if (
        _PLAIN.fullmatch(text)
        and text.count("=") == len(pairs)
        and text.count("&") == max(len(pairs) - 1, 0)
    ):
        # Two replaces, not str.translate: translating to several characters takes
        # its slow path, 30x slower on a 5,000-variable body.
        return text.replace("[", "%5B").replace("]", "%5D").encode("ascii")
    return "&".join([f"{_quote(key)}={_quote(value)}" for key, value in pairs]).encode("ascii")


def _quote(text: str) -> str:
    return quote_plus(text) if text else ""


def _flatten_into(pairs: Pairs, key: str, value: Any) -> None:
    kind = type(value)  # exact types first: a write's body holds thousands of values
    if kind is str:
        pairs.append((key, value))
    elif kind is int:
        pairs.append((key, str(value)))
    elif kind is dict or isinstance(value, Mapping):
        for sub_key, sub_value in value.items():
            _flatten_into(pairs, f"{key}[{sub_key}]", sub_value)
    elif kind is list or isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _flatten_into(pairs, f"{key}[{index}]", item)
    elif value is not None:
        pairs.append((key, _scalar(value)))


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float | str):
        return str(value)
    raise TypeError(f"cannot send a {type(value).__name__} as a web-service parameter")
