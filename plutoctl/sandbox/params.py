"""Request parameters: PHP bracket form to nested data, and Moodle's strict validation.

``parse_form`` does what PHP does with ``cohorts[0][name]=x`` (including dropping
variables past ``max_input_vars``). ``validate`` mirrors
``external_api::validate_parameters``: missing required keys, unexpected keys, values
that change when cleaned to their declared type, defaults filled in, optional keys
left out. Its error texts are Moodle's (they become ``debuginfo``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from urllib.parse import parse_qsl

from plutoctl.phptext import strip_tags
from plutoctl.sandbox.wserrors import WsParamError, invalid_parameter

Nested = dict[str, Any]


class Need(Enum):
    """Whether a key must be present (Moodle's VALUE_REQUIRED/DEFAULT/OPTIONAL)."""

    REQUIRED = "required"
    DEFAULT = "default"
    OPTIONAL = "optional"


class Kind(Enum):
    """The PARAM_* types the implemented functions declare."""

    INT = "int"
    BOOL = "bool"
    RAW = "raw"
    TEXT = "text"
    ALPHA = "alpha"
    ALPHANUMEXT = "alphanumext"
    USERNAME = "username"


@dataclass(frozen=True)
class Value:
    """A scalar parameter."""

    kind: Kind
    need: Need = Need.REQUIRED
    default: Any = None


@dataclass(frozen=True)
class Single:
    """A structure with named keys."""

    keys: Mapping[str, Value | Single | Multiple]
    need: Need = Need.REQUIRED
    default: Any = None


@dataclass(frozen=True)
class Multiple:
    """A list of one kind of item."""

    item: Value | Single | Multiple
    need: Need = Need.REQUIRED
    default: Any = field(default=None)


Description = Value | Single | Multiple


def req(kind: Kind) -> Value:
    """Return a required scalar of ``kind``."""
    return Value(kind)


def opt(kind: Kind) -> Value:
    """Return an optional scalar of ``kind``."""
    return Value(kind, Need.OPTIONAL)


def dflt(kind: Kind, default: Any) -> Value:
    """Return a scalar of ``kind`` that defaults to ``default``."""
    return Value(kind, Need.DEFAULT, default)


# --- PHP form parsing ---------------------------------------------------------------

_KEY = re.compile(r"^([^\[]+)((?:\[[^\]]*\])*)$")


def parse_pairs(text: str, max_input_vars: int) -> list[tuple[str, str]]:
    """Split a query string or form body; keep only the first ``max_input_vars`` pairs.

    The pairs are ``parse_qsl(text, keep_blank_values=True)``'s. That unquotes every
    name and value on its own, the larger part of a call's CPU in the sandbox for a
    batch of bracket keys (``members%5B0%5D%5Btype%5D``). Where every escape in the text
    stands for an ASCII character other than ``%``, ``&`` and ``=``, unquoting the
    whole text first and splitting it after gives the same pairs, at a tenth of the
    cost; any other text is left to ``parse_qsl``.
    """
    return _split_unquoted(text)[:max_input_vars]


_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_SPLITTING = frozenset({ord("%"), ord("&"), ord("=")})


def _unescape(match: re.Match[str]) -> str:
    return chr(int(match[0][1:], 16))


def _split_unquoted(text: str) -> list[tuple[str, str]]:
    plain = text.replace("+", " ").replace("%5B", "[").replace("%5D", "]")
    if "%" in plain:
        codes = {int(escape[1:], 16) for escape in _ESCAPE.findall(plain)}
        if any(code >= 0x80 or code in _SPLITTING for code in codes):
            return parse_qsl(text, keep_blank_values=True)
        plain = _ESCAPE.sub(_unescape, plain)  # one pass: "%%311" stays "%11"
    return [(name, value) for name, _, value in (p.partition("=") for p in plain.split("&") if p)]


def nest(pairs: list[tuple[str, str]]) -> Nested:
    """Build PHP's nested arrays from bracket keys (``a[0][b]=x``, ``a[]=y``)."""
    result: Nested = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if match is None:
            result[key] = value
            continue
        path = [match.group(1), *re.findall(r"\[([^\]]*)\]", match.group(2))]
        _assign(result, path, value)
    return result


def _assign(target: Nested, path: list[str], value: str) -> None:
    node = target
    for i, part in enumerate(path):
        if part == "" and i > 0:
            part = str(_next_index(node))
        if i == len(path) - 1:
            node[part] = value
            return
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child


def _next_index(node: Nested) -> int:
    numbers = [int(k) for k in node if k.lstrip("-").isdigit()]
    return max(numbers) + 1 if numbers else 0


# --- validation -------------------------------------------------------------------


def validate(desc: Single, params: Nested) -> Nested:
    """Validate a call's parameters against the function's description."""
    return _single(desc, params)


def _validate(desc: Description, value: Any) -> Any:
    match desc:
        case Value():
            return _value(desc, value)
        case Single():
            if not isinstance(value, dict):
                raise invalid_parameter("Only arrays accepted. The bad value is: '" + value + "'")
            return _single(desc, value)
        case Multiple():
            if not isinstance(value, dict):
                raise invalid_parameter("Only arrays accepted. The bad value is: '" + value + "'")
            return [_validate(desc.item, item) for item in value.values()]


def _single(desc: Single, params: Nested) -> Nested:
    result: Nested = {}
    rest = dict(params)
    for key, sub in desc.keys.items():
        if key not in rest:
            if sub.need is Need.REQUIRED:
                raise invalid_parameter(f"Missing required key in single structure: {key}")
            if sub.need is Need.DEFAULT:
                result[key] = sub.default
            continue
        try:
            result[key] = _validate(sub, rest.pop(key))
        except WsParamError as exc:
            raise invalid_parameter(
                f"{key} => Invalid parameter value detected: {exc.debuginfo}"
            ) from exc
    if rest:
        raise invalid_parameter(f"Unexpected keys ({', '.join(rest)}) detected in parameter array.")
    return result


def _value(desc: Value, value: Any) -> Any:
    if isinstance(value, dict):
        raise invalid_parameter("Scalar type expected, array or object received.")
    cleaned = clean(desc.kind, value)
    if cleaned is None:
        raise invalid_parameter(
            f'Invalid external api parameter: the value is "{value}", '
            f'the server was expecting "{desc.kind.value}" type'
        )
    return cleaned


_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_INT_PREFIX = re.compile(r"[ \t\n\r\v\f]*([+-]?[0-9]+)")


def clean(kind: Kind, value: str) -> Any:
    """Return ``value`` as ``kind``, or None when cleaning would change it.

    As ``validate_param`` compares ``(string) $param`` with its cleaned form, an int
    must read as PHP prints it (``01``, ``-0`` and ``+1`` are refused), and a bool be
    ``0`` or ``1`` (an empty string cleans to ``0``: refused).
    """
    match kind:
        case Kind.INT:  # past 64 bits PHP's (int) saturates: the value changes, refused
            if not _INT.fullmatch(value) or value == "-0":
                return None
            number = int(value)
            return number if -(2**63) <= number < 2**63 else None
        case Kind.BOOL:
            return {"0": False, "1": True}.get(value)
        case Kind.TEXT:  # PARAM_TEXT strips tags ("a < b" keeps its "<"; "Year<7" loses "<7")
            return value if strip_tags(value) == value else None
        case Kind.ALPHA:
            return value if re.fullmatch(r"[a-zA-Z]*", value) else None
        case Kind.ALPHANUMEXT:
            return value if re.fullmatch(r"[a-zA-Z0-9_-]*", value) else None
        case Kind.USERNAME:
            return value if re.fullmatch(r"[a-z0-9_.@-]*", value) else None
        case _:
            return value


def php_int(value: str) -> int:
    """Return ``(int) $value`` as PHP casts a string: its leading integer, else 0.

    What ``clean_param(PARAM_INT)`` does to an option value: ``01`` is 1, ``12a`` 12,
    ``abc`` 0. (Decimal and exponent forms, which PHP reads as floats, are not read.)
    """
    match = _INT_PREFIX.match(value)
    return int(match[1]) if match else 0
