"""The JSON plan format (``format_version: 1``), also the saved plan file.

``plan_to_dict`` writes every field of every change, nothing abbreviated, in a
stable key order; ``plan_from_dict`` reads it back exactly. Keys that are derived
(``subject``, ``count``, ``summary``) are written for readers and ignored on read.
The format is documented field by field in ``docs/plan-format.md``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, cast

import msgspec

from plutoctl.errors import PlanError
from plutoctl.model import SegmentFields
from plutoctl.plan.changes.base import FieldChanges
from plutoctl.plan.changes.kinds import KINDS, Change
from plutoctl.plan.changes.plans import Acknowledged, Notice, Plan, PlanBasis, Refusal, SitePlan
from plutoctl.plan.changes.subjects import subject
from plutoctl.plan.render.common import json_safe
from plutoctl.plan.summary import summarize, total

FORMAT_VERSION = 1

ACTIONS: dict[type, str] = {kind.change: kind.action for kind in KINDS}
"""The ``action`` name of each change type (read-only by convention)."""

_DERIVED_KEYS = frozenset({"action", "step", "subject", "count"})

JsonDict = dict[str, Any]


def render_json(plan: Plan) -> str:
    """Return the plan as indented JSON text ending in a newline.

    The text ``json.dumps(…, indent=2, ensure_ascii=False)`` writes, made by msgspec:
    the standard library indents in pure Python, 5x slower on a plan that lists
    hundreds of thousands of usernames.
    """
    return render_json_data(plan_to_dict(plan))


def render_json_data(data: JsonDict) -> str:
    """Return ``plan_to_dict`` data as ``render_json`` writes it."""
    text = msgspec.json.format(msgspec.json.encode(data), indent=2)
    return json_safe(text.decode()) + "\n"


# --- writing -----------------------------------------------------------------------


def plan_to_dict(plan: Plan) -> JsonDict:
    """Return the plan as plain JSON data (format_version 1)."""
    summaries = [summarize(site) for site in plan.sites]
    data: JsonDict = {
        "format_version": FORMAT_VERSION,
        "created_at": plan.created_at,
        "config": plan.config_path,
    }
    if plan.basis is not None:
        data["basis"] = _basis_to_dict(plan.basis)
    data["sites"] = [_site_to_dict(site) for site in plan.sites]
    data["summary"] = total(summaries).as_dict()
    if plan.seals:
        data["seals"] = dict(plan.seals)
    return data


def _basis_to_dict(basis: PlanBasis) -> JsonDict:
    return {
        "inputs": dict(basis.inputs),
        "allow_removals": list(basis.allow_removals),
        "allow_delete": list(basis.allow_delete),
        "allow_move": list(basis.allow_move),
        "only": list(basis.only),
        "except": list(basis.excluded),
    }


def _site_to_dict(site: SitePlan) -> JsonDict:
    return {
        "site": site.site,
        "changes": [change_to_dict(change) for change in site.changes],
        "refused": [_refusal_to_dict(refusal) for refusal in site.refused],
        "held_back": [_notice_to_dict(n) for n in site.held_back],
        "notices": [_notice_to_dict(n) for n in site.notices],
        "errors": [_notice_to_dict(n) for n in site.errors],
        "api_calls": site.api_calls,
        "estimated_seconds": round(site.estimated_seconds, 1),
        "fingerprints": _fingerprints_to_dict(site),
        "acknowledged": [
            {"subject": a.subject, "reason": a.reason, "by": a.by} for a in site.acknowledged
        ],
        "summary": summarize(site).as_dict(),
    }


def _fingerprints_to_dict(site: SitePlan) -> dict[str, str]:
    result = dict(site.fingerprints)
    if len(result) != len(site.fingerprints):
        raise PlanError(f"site {site.site!r}: the plan fingerprints one object twice")
    return result


def change_to_dict(change: Change) -> JsonDict:
    """Return one change as JSON data: ``action``, ``step``, ``subject``, then its fields."""
    data: JsonDict = {
        "action": ACTIONS[type(change)],
        "step": int(change.step),
        "subject": subject(change),
    }
    for item in dataclasses.fields(change):
        if not item.init:
            continue
        name, value = item.name, getattr(change, item.name)
        data[name] = _value_to_json(name, value)
        if name == "usernames":
            data["count"] = len(value)
    return data


def _value_to_json(name: str, value: object) -> object:
    match value:
        case SegmentFields(name=title, description=description, visible=visible):
            return {"name": title, "description": description, "visible": visible}
        case tuple() if name == "changed":
            return [{"field": f, "old": old, "new": new} for f, old, new in value]
        case tuple():
            return list(value)
    return value


def _refusal_to_dict(refusal: Refusal) -> JsonDict:
    return {
        "change": change_to_dict(refusal.change),
        "reason": refusal.reason,
        "acknowledge": refusal.acknowledge,
    }


def _notice_to_dict(notice: Notice) -> JsonDict:
    return {"level": notice.level, "message": notice.message, "where": notice.where}


# --- reading -----------------------------------------------------------------------


class _Reader:
    """Typed access to one JSON object, with its path for error messages."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, dict):
            raise PlanError(f"not a plan file: {path} should be an object")
        self.data: Mapping[str, object] = data
        self.path = path

    def get(self, key: str, kind: type | tuple[type, ...]) -> Any:
        if key not in self.data:
            raise PlanError(f"not a plan file: {self.path}.{key} is missing")
        value = self.data[key]
        # bool is an int in Python; an int field must not accept true/false.
        is_bad_bool = isinstance(value, bool) and kind is int
        if not isinstance(value, kind) or is_bad_bool:
            raise PlanError(f"not a plan file: {self.path}.{key} has the wrong type")
        return value

    def text(self, key: str) -> str:
        return self.get(key, str)

    def integer(self, key: str) -> int:
        return self.get(key, int)

    def flag(self, key: str) -> bool:
        return self.get(key, bool)

    def names(self, key: str) -> tuple[str, ...]:
        values = self.get(key, list)
        if not all(isinstance(v, str) for v in values):
            raise PlanError(f"not a plan file: {self.path}.{key} must list strings")
        return tuple(values)

    def objects(self, key: str) -> list[_Reader]:
        return [_Reader(v, f"{self.path}.{key}[{i}]") for i, v in enumerate(self.get(key, list))]

    def check_keys(self, allowed: set[str]) -> None:
        unknown = sorted(set(self.data) - allowed - _DERIVED_KEYS)
        if unknown:
            raise PlanError(f"not a plan file: {self.path} has unknown key {unknown[0]!r}")


def plan_from_dict(data: object) -> Plan:
    """Rebuild a Plan from ``plan_to_dict`` data; raise PlanError if it is not one."""
    top = _Reader(data, "plan")
    if "format_version" not in top.data:
        raise PlanError("not a plan file: it has no format_version")
    version = top.data["format_version"]
    if type(version) is not int or version != FORMAT_VERSION:  # not true, not 1.0
        raise PlanError(
            f"unsupported plan format_version {version!r}; this plutoctl reads "
            f"version {FORMAT_VERSION}",
            hint="make the plan again with this version of plutoctl",
        )
    top.check_keys({"format_version", "created_at", "config", "basis", "sites", "summary", "seals"})
    basis = None
    if "basis" in top.data:
        basis = _basis_from(_Reader(top.get("basis", dict), "plan.basis"))
    sites = tuple(_site_from(site) for site in top.objects("sites"))
    repeated = sorted({s.site for s in sites if [t.site for t in sites].count(s.site) > 1})
    if repeated:
        raise PlanError(f"not a plan file: site {repeated[0]!r} is listed twice")
    return Plan(
        sites=sites,
        config_path=top.text("config"),
        created_at=top.text("created_at"),
        basis=basis,
        seals=_seals_from(top.get("seals", dict) if "seals" in top.data else {}),
    )


def _seals_from(data: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    for site, seal in data.items():
        if not isinstance(seal, str):
            raise PlanError(f"plan.seals.{site} is not text")
    return tuple(sorted(data.items()))


def _basis_from(r: _Reader) -> PlanBasis:
    r.check_keys({"inputs", "allow_removals", "allow_delete", "allow_move", "only", "except"})
    inputs = r.get("inputs", dict)
    if not all(isinstance(v, str) for v in inputs.values()):
        raise PlanError(f"not a plan file: {r.path}.inputs must map files to strings")
    return PlanBasis(
        inputs=tuple(inputs.items()),
        allow_removals=r.names("allow_removals"),
        allow_delete=r.names("allow_delete"),
        allow_move=r.names("allow_move"),
        only=r.names("only"),
        excluded=r.names("except"),
    )


def _site_from(r: _Reader) -> SitePlan:
    r.check_keys(
        {
            "site",
            "changes",
            "refused",
            "held_back",
            "notices",
            "errors",
            "api_calls",
            "estimated_seconds",
            "fingerprints",
            "acknowledged",
            "summary",
        }
    )
    fingerprints = r.get("fingerprints", dict)
    if not all(isinstance(v, str) for v in fingerprints.values()):
        raise PlanError(f"not a plan file: {r.path}.fingerprints must map keys to strings")
    return SitePlan(
        site=r.text("site"),
        changes=tuple(change_from_dict(c) for c in r.objects("changes")),
        refused=tuple(_refusal_from(x) for x in r.objects("refused")),
        held_back=tuple(_notice_from(x) for x in r.objects("held_back")),
        notices=tuple(_notice_from(x) for x in r.objects("notices")),
        errors=tuple(_notice_from(x) for x in r.objects("errors")),
        api_calls=r.integer("api_calls"),
        fingerprints=tuple(fingerprints.items()),
        acknowledged=tuple(
            _acknowledged_from(x)
            for x in (r.objects("acknowledged") if "acknowledged" in r.data else [])
        ),
        # Plans saved before the estimate existed have none.
        estimated_seconds=float(r.get("estimated_seconds", (int, float)))
        if "estimated_seconds" in r.data
        else 0.0,
    )


def _acknowledged_from(r: _Reader) -> Acknowledged:
    r.check_keys({"subject", "reason", "by"})
    return Acknowledged(subject=r.text("subject"), reason=r.text("reason"), by=r.text("by"))


def _refusal_from(r: _Reader) -> Refusal:
    r.check_keys({"change", "reason", "acknowledge"})
    change = change_from_dict(_Reader(r.get("change", dict), f"{r.path}.change"))
    return Refusal(change=change, reason=r.text("reason"), acknowledge=r.text("acknowledge"))


def _notice_from(r: _Reader) -> Notice:
    r.check_keys({"level", "message", "where"})
    return Notice(level=r.text("level"), message=r.text("message"), where=r.text("where"))


def change_from_dict(data: object) -> Change:
    """Rebuild one change from ``change_to_dict`` data."""
    r = data if isinstance(data, _Reader) else _Reader(data, "change")
    action = r.text("action")
    build = _BUILDERS.get(action)
    if build is None:
        raise PlanError(f"not a plan file: {r.path} has unknown action {action!r}")
    return build(r)


def _fields_from(r: _Reader) -> SegmentFields:
    f = _Reader(r.get("fields", dict), f"{r.path}.fields")
    f.check_keys({"name", "description", "visible"})
    return SegmentFields(
        name=f.text("name"), description=f.text("description"), visible=f.flag("visible")
    )


def _changed_from(r: _Reader) -> FieldChanges:
    result = []
    for item in r.objects("changed"):
        item.check_keys({"field", "old", "new"})
        result.append((item.text("field"), item.get("old", object), item.get("new", object)))
    return tuple(result)


# How to read each field of a change, by its annotation: the writer (change_to_dict)
# is generic over the dataclass fields, and so is the reader.
_FIELD_READERS: Mapping[str, Callable[[_Reader, str], object]] = {
    "str": _Reader.text,
    "int": _Reader.integer,
    "tuple[str, ...]": _Reader.names,
    "SegmentFields": lambda r, _key: _fields_from(r),
    "FieldChanges": lambda r, _key: _changed_from(r),
}


def _builder(cls: type) -> Callable[[_Reader], Change]:
    """Return a function that reads a change of type ``cls``, refusing unknown keys."""
    fields = [f for f in dataclasses.fields(cls) if f.init]

    def build(r: _Reader) -> Change:
        r.check_keys({f.name for f in fields})
        return cast(Change, cls(**{f.name: _FIELD_READERS[str(f.type)](r, f.name) for f in fields}))

    return build


_BUILDERS: Mapping[str, Callable[[_Reader], Change]] = {
    action: _builder(cls) for cls, action in ACTIONS.items()
}
