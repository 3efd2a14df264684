"""Turn pydantic validation errors into positioned problems with plain-words messages.

A pydantic ``loc`` names model fields plus union tags (``field-rule``, ``str``, …). We
walk it along the plain data to recover the real key path, then look the path up in
the loader's position map. Messages never echo a value except where the value is one
of a fixed set of words (``membership: exat``), so a token can never leak.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from plutoctl.config.loaded import KeyPath
from plutoctl.config.schema import (
    RULE_TAGS,
    AllRule,
    Config,
    CourseConfig,
    Defaults,
    EnrolConfig,
    GroupConfig,
    MatchRule,
    PolicyConfig,
    SegmentConfig,
    SiteConfig,
)
from plutoctl.errors import Position, Problem

_TYPE_WORDS = {
    "string_type": "should be text",
    "bool_type": "should be true or false",
    "bool_parsing": "should be true or false",
    "int_type": "should be a whole number",
    "int_parsing": "should be a whole number",
    "int_from_float": "should be a whole number",
    "dict_type": "should be a mapping (key: value lines)",
    "model_type": "should be a mapping (key: value lines)",
    "model_attributes_type": "should be a mapping (key: value lines)",
    "list_type": "should be a list",
}


def dotted(path: KeyPath) -> str:
    """Return a key path as ``segments.dept-sales.members.0``."""
    return ".".join(_shown(str(part)) for part in path)


def _shown(part: str) -> str:
    # A key that is empty or holds control characters (an escape would reach the
    # terminal as one) is shown quoted, its characters escaped.
    return part if part and part.isprintable() else json.dumps(part)


def schema_problems(
    exc: ValidationError,
    data: Any,
    positions: Mapping[KeyPath, Position],
    *,
    prefix: KeyPath = (),
) -> list[Problem]:
    """Return one problem per pydantic error, at the position of what it is about.

    ``prefix`` is the key path of ``data`` when only a part of the config was validated.
    """
    problems: list[Problem] = []
    for error in exc.errors(include_url=False):
        problem = _problem(error, data, positions, prefix)
        if problem not in problems:
            problems.append(problem)
    return problems


def nearest(positions: Mapping[KeyPath, Position], path: KeyPath, fallback: str) -> Position:
    """Return the position of a key path or of its nearest known ancestor."""
    while path:
        if path in positions:
            return positions[path]
        path = path[:-1]
    return positions.get((), Position(fallback))


def _problem(
    error: ErrorDetails, data: Any, positions: Mapping[KeyPath, Position], prefix: KeyPath
) -> Problem:
    path, tags = _data_path(error["loc"], data)
    full = (*prefix, *path)
    fallback = next(iter(positions.values())).file if positions else "config"
    kind = error["type"]
    if kind == "missing":
        parent = full[:-1]
        where = f"{dotted(parent)}: " if parent else ""
        return Problem(
            nearest(positions, parent, fallback), f"{where}missing required key {full[-1]!r}"
        )
    if kind == "extra_forbidden":
        return _unknown_key(full, tags, nearest(positions, full, fallback))
    message, hint = _describe(error)
    if hint is None:
        message, hint = _shape_hint(kind, error.get("input"), full, message)
    where = f"{dotted(full)}: " if full else "the config "
    return Problem(nearest(positions, full, fallback), f"{where}{message}", hint=hint)


_MAPPING_KINDS = frozenset({"dict_type", "model_type", "model_attributes_type"})

_LISTS = {
    "members": "members: [jdoe, asmith]",
    "exclude": "exclude: [contractor1]",
    "sites": "sites: [primary]",
    "allow_removals": "allow_removals: [dept-sales]",
    "rules": "rules: [{field: department, match: exact, value: Sales}]",
    "enrol": "enrol: [{segment: dept-sales}]",
}


_EXAMPLES = {
    "name": "name: Sales",
    "url": "url: https://learn.example.com",
    "segment": "segment: dept-sales",
    "field": "field: department",
}


_ITEMS: dict[str, tuple[str, type[BaseModel]]] = {
    "sites": ("site", SiteConfig),
    "segments": ("segment", SegmentConfig),
    "courses": ("course", CourseConfig),
    "groups": ("group", GroupConfig),
}
"""The mappings of items by ID, with what each item is: a key of an item written one
level too shallow reads as an item's ID."""


def _shape_hint(kind: str, value: object, path: KeyPath, message: str) -> tuple[str, str | None]:
    """Say how to write what has the wrong shape, for the keys people get wrong most."""
    key = str(path[-1]) if path else ""
    item = _ITEMS.get(str(path[-2])) if len(path) >= 2 else None
    if kind in _MAPPING_KINDS and item is not None and key in item[1].model_fields:
        what = item[0]
        return message, (
            f"{key} is a key of a {what}, read here as a {what}'s ID: indent it under the "
            f"{what} above"
        )
    if kind == "list_type" and key in _LISTS:
        if value is None:  # "members:" with nothing after it
            return "is empty", f"write an empty list as {key}: [], or list them: {_LISTS[key]}"
        return message, f"write it as a list, even of one: {_LISTS[key]}"
    if kind == "string_type" and value is None and key in _EXAMPLES:
        return "is empty", f"give it a value, e.g. {_EXAMPLES[key]}"
    if kind == "string_type" and key in ("members_csv", "segments_csv") and isinstance(value, list):
        return (
            "should be one file",
            "a segment reads one CSV file; a file shared by several segments says each "
            "row's segment in a cohort1 column (docs/config.md, 'CSV files')",
        )
    return message, None


def _data_path(loc: tuple[int | str, ...], data: Any) -> tuple[KeyPath, list[str]]:
    """Follow ``loc`` through the data; return the key path and the union tags skipped."""
    path: list[str | int] = []
    tags: list[str] = []
    node = data
    for i, part in enumerate(loc):
        if _has(node, part):
            node = node[part]
            path.append(part)
        elif i == len(loc) - 1:
            path.append(part)  # a missing key: not in the data, but it is the subject
        else:
            tags.append(str(part))
    return tuple(path), tags


def _has(node: Any, part: int | str) -> bool:
    if isinstance(node, dict):
        return isinstance(part, str) and part in node
    if isinstance(node, list):
        return isinstance(part, int) and 0 <= part < len(node)
    return False


def _unknown_key(path: KeyPath, tags: list[str], position: Position) -> Problem:
    key = str(path[-1])
    parent = path[:-1]
    where = dotted(parent) if parent else "the top level"
    allowed = allowed_keys(parent, tags)
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        hint = f"did you mean {close[0]!r}?"
    elif allowed:
        hint = "allowed keys here: " + ", ".join(allowed)
    else:
        hint = None
    return Problem(position, f"unknown key {key!r} in {where}", hint=hint)


def allowed_keys(path: KeyPath, tags: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Return the keys the config allows in the mapping at ``path``."""
    model = _model_at(path, tags)
    return list(model.model_fields) if model else []


def _model_at(path: KeyPath, tags: list[str] | tuple[str, ...]) -> type[BaseModel] | None:
    if RULE_TAGS[1] in tags[-1:]:
        return AllRule
    if RULE_TAGS[0] in tags[-1:]:
        return MatchRule
    shapes: dict[tuple[str | None, ...], type[BaseModel]] = {
        (): Config,
        ("sites", None): SiteConfig,
        ("defaults",): Defaults,
        ("policy",): PolicyConfig,
        ("segments", None): SegmentConfig,
        ("courses", None): CourseConfig,
        ("courses", None, "groups", None): GroupConfig,
        ("courses", None, "enrol", None): EnrolConfig,
    }
    shape = tuple(part if i % 2 == 0 else None for i, part in enumerate(path))
    return shapes.get(shape)  # type: ignore[arg-type]


def _describe(error: ErrorDetails) -> tuple[str, str | None]:
    kind = error["type"]
    if kind == "literal_error":
        return _literal(error)
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, "), None
    if kind in ("too_short", "string_too_short"):
        return "should not be empty", None
    if kind == "greater_than_equal":
        return f"should be at least {error.get('ctx', {}).get('ge')}", None
    if kind == "rule_shape" and isinstance(error.get("input"), dict):
        return (
            "a rule is a mapping: {field, match, value} or {all: [rules]}",
            "rules: lists its rules as alternatives (a user matching any one is a member); "
            "for 'not', use a negated match (notexact, notcontains, notempty, notdefined) "
            "or exclude: [usernames]",
        )
    if kind == "string_type" and isinstance(error.get("input"), bool):
        return "should be text", "quote the value to use it as text: 'true'"
    if kind in _TYPE_WORDS:
        return _TYPE_WORDS[kind], None
    return str(error["msg"]).replace("Input should be", "should be"), None


def _literal(error: ErrorDetails) -> tuple[str, str | None]:
    expected = str(error.get("ctx", {}).get("expected", ""))
    value = error.get("input")
    options = [word.strip("' ") for word in expected.replace(" or ", ", ").split(",")]
    hint = None
    if isinstance(value, str):
        close = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
        if close and close[0] == value:  # version: "1" for version: 1
            hint = f"write {value} without quotes: a number, not text"
        elif close:
            hint = f"did you mean {close[0]!r}?"
    return f"should be {expected}", hint
