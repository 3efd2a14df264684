"""The parts of a config that fit the schema, to cross-check even when the whole does not.

When the whole config fails the schema, each site, segment and course is validated
on its own, and one that fails only in optional keys or rules is kept with those set
aside, so that its other problems are still found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from plutoctl.config.schema import Config, CourseConfig, Defaults, SegmentConfig, SiteConfig

_M = TypeVar("_M", bound=BaseModel)


@dataclass
class Parts:
    """The parts of the config that passed the schema, plus every name declared."""

    sites: dict[str, SiteConfig]
    segments: dict[str, SegmentConfig]
    courses: dict[str, CourseConfig]
    default_sites: list[str] | None
    site_names: list[str]
    segment_names: list[str]

    def sites_for(self, named: list[str] | None) -> list[str]:
        """Return the known sites an item goes to (as ``Config.sites_for``)."""
        chosen = named or self.default_sites or self.site_names
        return [name for name in chosen if name in self.site_names]


def parts_of(config: Config, data: dict[str, Any]) -> Parts:
    """Return the parts of a config that fits the schema whole."""
    return Parts(
        dict(config.sites),
        dict(config.segments),
        dict(config.courses),
        config.defaults.sites,
        _declared(data, "sites"),
        _declared(data, "segments"),
    )


def salvaged_parts(data: dict[str, Any]) -> Parts:
    """Return the parts of a config that does not fit the schema whole."""
    defaults = _quiet(Defaults, data.get("defaults") or {})
    return Parts(
        sites=_each(SiteConfig, data.get("sites")),
        segments=_each(SegmentConfig, data.get("segments")),
        courses=_each(CourseConfig, data.get("courses")),
        default_sites=defaults.sites if defaults else None,
        site_names=_declared(data, "sites"),
        segment_names=_declared(data, "segments"),
    )


def _declared(data: dict[str, Any], section: str) -> list[str]:
    """Return the keys declared under a top-level mapping, valid or not."""
    value = data.get(section)
    return [str(key) for key in value] if isinstance(value, dict) else []


def _each(model: type[_M], value: object) -> dict[str, _M]:
    """Validate each entry of a mapping on its own; keep those that pass, or that pass
    once their bad parts are set aside (so their other problems are still found)."""
    if not isinstance(value, dict):
        return {}
    valid: dict[str, _M] = {}
    for key, item in value.items():
        checked = _quiet(model, item) or _salvaged(model, item)
        if checked is not None:
            valid[str(key)] = checked
    return valid


# A rule that passes every check: stands in for a rule whose schema problem is
# already reported, so the rules after it keep their index (and their positions).
_NEUTRAL_RULE = {"field": "user.username", "match": "notempty"}


def _salvaged(model: type[_M], item: object) -> _M | None:
    """Return ``item`` validated with its failing optional keys dropped and failing
    rules neutralised, or None if a required key is wrong."""
    if not isinstance(item, dict):
        return None
    try:
        model.model_validate(item)
    except ValidationError as exc:
        trimmed = dict(item)
        for error in exc.errors():
            loc = error["loc"]
            key = str(loc[0]) if loc else ""
            field_info = model.model_fields.get(key)
            if error["type"] == "extra_forbidden" and len(loc) == 1:
                trimmed.pop(key, None)
                continue
            if field_info is None or field_info.is_required():
                return None
            if key == "rules" and len(loc) > 1 and isinstance(loc[1], int):
                rules = list(trimmed.get("rules") or [])
                rules[loc[1]] = _NEUTRAL_RULE
                trimmed["rules"] = rules
            else:
                trimmed.pop(key, None)
        return _quiet(model, trimmed)
    return None


def _quiet(model: type[_M], value: object) -> _M | None:
    """Return the validated model, or None (its problems are reported already)."""
    try:
        return model.model_validate(value)
    except ValidationError:
        return None
