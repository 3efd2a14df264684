"""The config's JSON Schema for editors, accepting what ``validate`` accepts.

pydantic's own schema is stricter than its validation: ``validate`` takes
``visible: yes`` (a boolean written as YAML 1.1 and pydantic read it) and a number
where text is expected (``name: 2024``, ``members: [12345]``; the models coerce numbers
to text), and an editor flagging those would flag valid files. Each boolean and text
leaf of the schema is widened here to exactly what the models accept, so the schema
and ``validate`` agree on the shape of a file (tests/config/test_json_schema.py).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from plutoctl.config import schema
from plutoctl.config.schema import Config

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

# pydantic (lax mode) reads these strings as booleans, in any case.
_BOOLEAN_WORDS = ("0", "off", "f", "false", "n", "no", "1", "on", "t", "true", "y", "yes")


def _any_case(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word)


_BOOLEAN_TEXT = {
    "type": "string",
    "pattern": "^(" + "|".join(_any_case(w) for w in _BOOLEAN_WORDS) + ")$",
}


def config_json_schema() -> dict[str, Any]:
    """Return the config's JSON Schema, with ``$schema`` and ``title`` first."""
    body = _widened(Config.model_json_schema())
    _allow_null(body, Config)
    for name, definition in body.get("$defs", {}).items():
        model = getattr(schema, name, None)
        if isinstance(model, type) and issubclass(model, BaseModel):
            _allow_null(definition, model)
    body.pop("title", None)
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": "plutoctl config (segments.yaml)",
        **body,
    }


def _allow_null(node: dict[str, Any], model: type[BaseModel]) -> None:
    """Let each property the model reads as empty when null (a section whose entries
    are all commented out: ``segments:`` alone) be null in the schema too."""
    for name, prop in node.get("properties", {}).items():
        if _accepts_null(prop) or not _reads_null(model, name):
            continue
        outer = {key: prop.pop(key) for key in ("title", "description", "default") if key in prop}
        node["properties"][name] = {**outer, "anyOf": [prop, {"type": "null"}]}


def _accepts_null(prop: dict[str, Any]) -> bool:
    kinds = prop.get("type")
    return (
        kinds == "null"
        or (isinstance(kinds, list) and "null" in kinds)
        or any(_accepts_null(option) for option in prop.get("anyOf", ()))
    )


def _reads_null(model: type[BaseModel], field: str) -> bool:
    try:
        model.model_validate({field: None})
    except ValidationError as exc:
        return not any(error["loc"][:1] == (field,) for error in exc.errors())
    return True


def _widened(node: Any) -> Any:
    """Return ``node`` with boolean and plain text leaves widened as the models read them."""
    if isinstance(node, list):
        return [_widened(item) for item in node]
    if not isinstance(node, dict):
        return node
    widened = {key: _widened(value) for key, value in node.items()}
    kind = widened.get("type")
    if kind == "boolean":
        del widened["type"]
        return {**widened, "anyOf": [{"type": "boolean"}, {"enum": [0, 1]}, _BOOLEAN_TEXT]}
    if kind == "string" and not {"enum", "const", "pattern"} & set(widened):
        # Numbers become text (coerce_numbers_to_str); length limits apply to text only.
        return {**widened, "type": ["string", "number"]}
    return widened
