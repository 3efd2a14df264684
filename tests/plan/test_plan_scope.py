"""What a site's run covers: computed once, from the config and --only/--except."""

from __future__ import annotations

from pathlib import Path

import pytest

from plutoctl.config.loaded import LoadedConfig
from plutoctl.config.schema import Config
from plutoctl.model import ExistingCourse, ExistingSite, User
from plutoctl.plan.desired import build_desired
from plutoctl.plan.scope import Selection, selected_scope, site_scope

CONFIG = {
    "version": 1,
    "sites": {"primary": {"url": "https://learn.example.com"}, "demo": {"url": "sandbox:d.db"}},
    "defaults": {"sites": ["primary"]},
    "segments": {
        "sales": {
            "name": "Sales",
            "members": ["jdoe"],
            "rules": [{"field": "department", "match": "exact", "value": "Sales"}],
        },
        "paris": {
            "name": "Paris",
            "rules": [{"field": "user.city", "match": "exact", "value": "Paris"}],
        },
        "hr": {"name": "HR", "members": ["hr1"], "exclude": ["jdoe"]},
        "demo-only": {"name": "Demo", "sites": ["demo"]},
    },
    "courses": {
        "ONBOARD": {
            "groups": {"g-sales": {"name": "Sales", "segment": "sales"}},
            "enrol": [{"segment": "demo-only"}],
        },
        "OTHER": {},
    },
}


def loaded() -> LoadedConfig:
    return LoadedConfig(config=Config.model_validate(CONFIG), path=Path("segments.yaml"))


def test_whole_site() -> None:
    scope = site_scope(loaded(), "primary")
    assert scope.segments == ("sales", "paris", "hr")
    assert scope.courses == ("ONBOARD", "OTHER")
    assert scope.bound == ()
    assert scope.named_by_courses == ("sales", "demo-only")
    assert scope.read_segments == {"sales", "paris", "hr", "demo-only"}
    assert scope.needs.needs_all_users is True
    assert scope.needs.standard_fields == {"city"}
    assert scope.needs.usernames == {"jdoe", "hr1"}
    assert scope.needs_custom_fields is True
    assert scope.recheck_fields == ("id", "username", "customfields")


@pytest.mark.parametrize(
    ("selection", "segments", "courses", "bound"),
    [
        (Selection(only=frozenset({"ONBOARD"})), (), ("ONBOARD",), ("sales",)),
        (Selection(only=frozenset({"hr"})), ("hr",), (), ()),
        (
            Selection(excluded=frozenset({"sales", "OTHER"})),
            ("paris", "hr"),
            ("ONBOARD",),
            ("sales",),
        ),
    ],
    ids=["only-course-binds-its-segment", "only-segment", "except"],
)
def test_selection(
    selection: Selection,
    segments: tuple[str, ...],
    courses: tuple[str, ...],
    bound: tuple[str, ...],
) -> None:
    scope = selected_scope(loaded(), "primary", selection)
    assert (scope.segments, scope.courses, scope.bound) == (segments, courses, bound)
    assert scope.built == segments + bound


def test_only_the_rules_built_are_compiled() -> None:
    scope = selected_scope(loaded(), "primary", Selection(only=frozenset({"hr"})))
    assert scope.ruleset.rules == {}
    assert scope.needs == (False, frozenset(), frozenset({"hr1", "jdoe"}))
    assert scope.needs_custom_fields is False
    assert scope.recheck_fields == ("id", "username")


def test_build_desired_uses_the_scope_it_is_given() -> None:
    config = loaded()
    scope = selected_scope(config, "primary", Selection(only=frozenset({"ONBOARD"})))
    existing = ExistingSite(
        site="primary",
        segments={},
        users={"jdoe": User(1, "jdoe", custom={"department": "Sales"})},
        courses={"ONBOARD": ExistingCourse(20, "ONBOARD")},
        field_types={"department": "text"},
        has_all_users=True,
    )
    result = build_desired(config, "primary", existing, scope=scope)
    assert result.sources.ruleset is scope.ruleset  # compiled once, not again
    assert set(result.desired.segments) == set()
    assert set(result.bound_segments) == {"sales"}
    assert set(result.desired.courses) == {"ONBOARD"}
