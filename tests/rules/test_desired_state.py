"""Desired state per site: union, exclude, CSV, unknown users, scoping, courses."""

from __future__ import annotations

from pathlib import Path

import pytest

from plutoctl.config.loaded import LoadedConfig, SourcedName
from plutoctl.config.schema import Config
from plutoctl.errors import Position
from plutoctl.model import (
    DesiredEnrolment,
    DesiredGroup,
    ExistingCourse,
    ExistingSegment,
    ExistingSite,
    SegmentFields,
    User,
)
from plutoctl.plan.changes.plans import Notice
from plutoctl.plan.desired import UNKNOWN_ADVICE, build_desired
from plutoctl.plan.scope import required_fields

CONFIG = {
    "version": 1,
    "sites": {
        "primary": {"url": "https://learn.example.com", "token": "${PLUTO_TOKEN}"},
        "demo": {"url": "sandbox:demo.db"},
    },
    "defaults": {"sites": ["primary"]},
    "segments": {
        "dept-sales": {
            "name": "Sales",
            "description": "Everyone in Sales",
            "members": ["jdoe", "asmith", "ghost"],
            "members_csv": "data/sales.csv",
            "rules": [
                {"field": "department", "match": "exact", "value": "Sales"},
                {"field": "user.city", "match": "exact", "value": "Paris"},
            ],
            "exclude": ["contractor1", "nobody"],
        },
        "dept-hr": {
            "name": "HR",
            "visible": False,
            "sites": ["primary", "demo"],
            "members": ["hr1"],
            "membership": "additive",
            "protected": True,
        },
        "all-staff": {"name": "All staff"},
        "demo-only": {"name": "Demo", "sites": ["demo"], "members": ["jdoe"]},
    },
    "courses": {
        "ONBOARD-101": {
            "groups": {
                "onboard-sales": {
                    "name": "Sales Team",
                    "description": "d",
                    "segment": "dept-sales",
                },
                "plain": {"name": "Plain"},
            },
            "enrol": [{"segment": "dept-sales", "role": "student", "unenrol": True}],
        },
        "MISSING-1": {},
        "DEMO-1": {"sites": ["demo"], "enrol": [{"segment": "demo-only"}]},
    },
}

POSITIONS = {
    ("segments", "dept-sales", "members", 2): Position("segments.yaml", 14, 9),
    ("segments", "dept-sales", "exclude", 1): Position("segments.yaml", 22, 9),
    ("segments", "dept-sales", "rules", 0): Position("segments.yaml", 17, 7),
    ("courses", "MISSING-1"): Position("segments.yaml", 40, 3),
}
CSV = {
    "dept-sales": (
        SourcedName("csvuser", Position("data/sales.csv", 4), "members_csv"),
        SourcedName("csvghost", Position("data/sales.csv", 5), "members_csv"),
    )
}


def loaded(config: dict[str, object] = CONFIG) -> LoadedConfig:
    return LoadedConfig(
        config=Config.model_validate(config),
        path=Path("segments.yaml"),
        positions=POSITIONS,
        csv_members=CSV,
    )


def site(name: str = "primary", *, has_all_users: bool = True, **changes: object) -> ExistingSite:
    users = {
        "jdoe": User(1, "jdoe"),
        "asmith": User(2, "asmith", custom={"department": "HR"}),
        "csvuser": User(3, "csvuser"),
        "contractor1": User(4, "contractor1", custom={"department": "Sales"}),
        "rule1": User(5, "rule1", suspended=True, custom={"department": " sales"}),
        "parisian": User(6, "parisian", standard={"city": "paris"}),
        "hr1": User(7, "hr1"),
        "other": User(8, "other"),
    }
    fields = dict(
        site=name,
        segments={"dept-hr": ExistingSegment(10, "dept-hr", SegmentFields("HR"), frozenset())},
        users=users,
        courses={
            "ONBOARD-101": ExistingCourse(20, "ONBOARD-101"),
            "DEMO-1": ExistingCourse(21, "DEMO-1"),
        },
        field_types={"department": "menu"},
        has_all_users=has_all_users,
    )
    fields.update(changes)
    return ExistingSite(**fields)  # type: ignore[arg-type]


def test_members_are_union_of_list_csv_and_rules_minus_exclude() -> None:
    result = build_desired(loaded(), "primary", site())
    sales = result.desired.segments["dept-sales"]
    # ghost and csvghost are unknown; contractor1 matched a rule but is excluded;
    # rule1 is suspended and still a member.
    assert sales.members == {"jdoe", "asmith", "csvuser", "rule1", "parisian"}
    assert sales.fields == SegmentFields("Sales", "Everyone in Sales", True)
    assert not sales.is_additive and not sales.is_protected


def test_a_menu_whose_values_differ_only_in_case_or_spaces_is_warned_of() -> None:
    """Rules fold ' sales' and 'Sales' into one value; Pluto's automation would not."""
    result = build_desired(loaded(), "primary", site())
    [warning] = [n for n in result.notices if "menu field" in n.message]
    assert warning.message == (
        "menu field department holds ' sales' and 'Sales' on site 'primary': rules take "
        "them for one value (spaces trimmed, case folded), where Pluto's automation tells "
        "them apart"
    )
    assert result.desired.segments["dept-sales"].members >= {"rule1"}  # folded, as said
    text_field = site(field_types={"department": "text"})
    assert not [
        n for n in build_desired(loaded(), "primary", text_field).notices if "menu" in n.message
    ]


def test_unknown_usernames_are_errors_with_their_source() -> None:
    result = build_desired(loaded(), "primary", site())
    unknown = [e for e in result.errors if "unknown user" in e.message]
    assert unknown == [
        Notice(
            "error",
            "unknown user 'ghost' on site 'primary' (members of dept-sales)" + UNKNOWN_ADVICE,
            "segments.yaml:14:9",
        ),
        Notice(
            "error",
            "unknown user 'csvghost' on site 'primary' (members_csv of dept-sales)",
            "data/sales.csv:5",
        ),
    ]


def test_unknown_username_in_exclude_is_only_a_warning() -> None:
    result = build_desired(loaded(), "primary", site())
    assert (
        Notice(
            "warning",
            "unknown user 'nobody' on site 'primary' (exclude of dept-sales)",
            "segments.yaml:22:9",
        )
        in result.notices
    )
    assert not any("nobody" in e.message for e in result.errors)


def test_same_unknown_user_in_two_places_is_two_errors() -> None:
    config = {**CONFIG, "segments": {"s": {"name": "S", "members": ["ghost", "ghost"]}}}
    result = build_desired(loaded(config), "primary", site())
    unknown = [e.message for e in result.errors if "unknown user" in e.message]
    message = "unknown user 'ghost' on site 'primary' (members of s)"
    assert unknown == [message + UNKNOWN_ADVICE, message]  # what to do, said once


def test_unmanaged_segment_has_no_desired_members() -> None:
    result = build_desired(loaded(), "primary", site())
    staff = result.desired.segments["all-staff"]
    assert staff.members is None
    assert not result.sources.segments["all-staff"].is_managed


def test_additive_protected_and_hidden_flags_carry_over() -> None:
    hr = build_desired(loaded(), "primary", site()).desired.segments["dept-hr"]
    assert hr.members == {"hr1"}
    assert hr.is_additive and hr.is_protected
    assert hr.fields.visible is False


@pytest.mark.parametrize(
    ("site_name", "segments", "courses"),
    [
        pytest.param(
            "primary",
            {"dept-sales", "dept-hr", "all-staff"},
            {"ONBOARD-101"},
            id="primary-gets-defaults-and-named",
        ),
        pytest.param("demo", {"dept-hr", "demo-only"}, {"DEMO-1"}, id="demo-gets-only-named"),
    ],
)
def test_site_scoping(site_name: str, segments: set[str], courses: set[str]) -> None:
    result = build_desired(loaded(), site_name, site(site_name))
    assert set(result.desired.segments) == segments
    assert set(result.desired.courses) == courses


def test_without_defaults_everything_goes_everywhere() -> None:
    config = {**CONFIG, "defaults": {}}
    result = build_desired(loaded(config), "demo", site("demo"))
    assert "dept-sales" in result.desired.segments
    assert "ONBOARD-101" in result.desired.courses


def test_course_missing_on_site_is_an_error() -> None:
    result = build_desired(loaded(), "primary", site())
    assert (
        Notice("error", "course 'MISSING-1' does not exist on site 'primary'", "segments.yaml:40:3")
        in result.errors
    )
    assert "MISSING-1" not in result.desired.courses


def test_groups_and_enrolments() -> None:
    course = build_desired(loaded(), "primary", site()).desired.courses["ONBOARD-101"]
    assert course.groups == {
        "onboard-sales": DesiredGroup("onboard-sales", "Sales Team", "d", "dept-sales"),
        "plain": DesiredGroup("plain", "Plain", "", None),
    }
    assert course.enrolments == (DesiredEnrolment("dept-sales", "student", allow_unenrol=True),)


def test_segment_scope_limits_segments_and_keeps_bound_ones_apart() -> None:
    result = build_desired(loaded(), "primary", site(), segments=set(), courses={"ONBOARD-101"})
    assert result.desired.segments == {}
    assert set(result.desired.courses) == {"ONBOARD-101"}
    assert result.bound_segments["dept-sales"].members == {
        "jdoe", "asmith", "csvuser", "rule1", "parisian"
    }  # fmt: skip
    only = build_desired(loaded(), "primary", site(), segments={"dept-hr"}, courses=())
    assert set(only.desired.segments) == {"dept-hr"}
    assert only.desired.courses == {} and only.bound_segments == {}
    assert not only.errors  # dept-sales (with its unknown users) is out of scope


def test_bound_segment_neither_configured_nor_existing_is_an_error() -> None:
    config = {
        **CONFIG,
        "courses": {"DEMO-1": {"sites": ["demo"], "enrol": [{"segment": "dept-sales"}]}},
    }
    result = build_desired(loaded(config), "demo", site("demo"))
    assert [e.message for e in result.errors] == [
        "segment 'dept-sales' is not configured for site 'demo' and does not exist there "
        "(DEMO-1/enrol/0)"
    ]


def test_rule_problems_become_errors_with_rule_position() -> None:
    config = {
        **CONFIG,
        "segments": {
            "s": {
                "name": "S",
                "rules": [{"field": "department", "match": "contains", "value": "a"}],
            }
        },
    }
    positions = {("segments", "s", "rules", 0): Position("segments.yaml", 5, 9)}
    config_obj = LoadedConfig(Config.model_validate(config), Path("segments.yaml"), positions)
    result = build_desired(config_obj, "primary", site())
    # A rule the site cannot evaluate stops that site (the other errors are the courses').
    (notice,) = [e for e in result.errors if "rule 1" in e.message]
    assert notice.level == "error" and notice.where == "segments.yaml:5:9"
    assert notice.message.startswith("segment s rule 1 on site 'primary': a menu field")


def test_rules_without_all_users_is_an_error() -> None:
    result = build_desired(loaded(), "primary", site(has_all_users=False))
    assert any("rules need every user" in e.message for e in result.errors)
    no_rules = build_desired(
        loaded(), "primary", site(has_all_users=False), segments={"dept-hr"}, courses=()
    )
    assert not no_rules.errors


def test_sources_record_list_csv_rules_and_exclusions() -> None:
    sources = build_desired(loaded(), "primary", site()).sources.segments["dept-sales"]
    assert [n.source for n in sources.named["jdoe"]] == ["members"]
    assert sources.named["csvuser"][0].position == Position("data/sales.csv", 4)
    assert sources.rule_matches == {"contractor1", "rule1", "parisian"}
    assert set(sources.excluded) == {"contractor1", "nobody"}


def test_required_fields() -> None:
    needs = required_fields(loaded(), "primary")
    assert needs.needs_all_users is True
    assert needs.standard_fields == {"city"}
    assert needs.usernames == {
        "jdoe", "asmith", "ghost", "contractor1", "nobody", "csvuser", "csvghost", "hr1"
    }  # fmt: skip
    needs_all, standard, usernames = required_fields(loaded(), "demo")
    assert (needs_all, standard, usernames) == (False, frozenset(), {"hr1", "jdoe"})
    scoped = required_fields(loaded(), "primary", segments={"dept-hr"}, courses=())
    assert scoped == (False, frozenset(), {"hr1"})
    bound = required_fields(loaded(), "primary", segments=(), courses={"ONBOARD-101"})
    assert bound.needs_all_users is True


def test_exclude_beats_an_explicit_member_and_a_csv_row() -> None:
    config = {
        **CONFIG,
        "segments": {"s": {"name": "S", "members": ["jdoe", "asmith"], "exclude": ["jdoe"]}},
    }
    csv = {"s": (SourcedName("csvuser", Position("x.csv", 2), "members_csv"),)}
    excluded_csv = {
        **config,
        "segments": {"s": {"name": "S", "members_csv": "x.csv", "exclude": ["csvuser"]}},
    }
    path = Path("segments.yaml")
    result = build_desired(LoadedConfig(Config.model_validate(config), path), "primary", site())
    assert result.desired.segments["s"].members == {"asmith"}
    result = build_desired(
        LoadedConfig(Config.model_validate(excluded_csv), path, csv_members=csv), "primary", site()
    )
    assert result.desired.segments["s"].members == frozenset()
