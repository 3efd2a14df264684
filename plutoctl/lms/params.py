"""PHP-bracket flattening of web-service parameters.

Moodle's REST server reads nested parameters as PHP request arrays
(``cohorts[0][categorytype][type]=system``); ``requests`` does not build these keys,
so the client flattens every call here. Booleans go as ``1``/``0`` (Moodle rejects
``true``), ``None`` and empty lists are omitted (an empty list cannot be expressed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Pairs = list[tuple[str, str]]


def flatten(params: Mapping[str, Any]) -> Pairs:
    """Return ``params`` as form fields with PHP-bracket keys, in a stable order."""
    pairs: Pairs = []
    for key, value in params.items():
        _flatten_into(pairs, str(key), value)
    return pairs


def count_vars(params: Mapping[str, Any]) -> int:
    """Return how many request variables ``params`` becomes once flattened."""
    return len(flatten(params))


def _flatten_into(pairs: Pairs, key: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for sub_key, sub_value in value.items():
            _flatten_into(pairs, f"{key}[{sub_key}]", sub_value)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _flatten_into(pairs, f"{key}[{index}]", item)
    else:
        pairs.append((key, _scalar(value)))


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float | str):
        return str(value)
    raise TypeError(f"cannot send a {type(value).__name__} as a web-service parameter")
