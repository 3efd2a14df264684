"""The per-site summary counts and the one-line summary."""

from __future__ import annotations

import pytest
from render_plans import every_change_site, names

from plutoctl.model import SegmentFields
from plutoctl.plan.changes.kinds import (
    KINDS,
    AddSegmentMembers,
    CreateGroup,
    CreateSegment,
    DeleteSegment,
    Enrol,
    RemoveSegmentMembers,
    UpdateSegment,
)
from plutoctl.plan.changes.plans import SitePlan
from plutoctl.plan.summary import HEADLINE, SiteSummary, summarize, total


def test_the_representative_site_holds_one_change_of_every_kind() -> None:
    held = [type(c) for c in every_change_site().changes]
    missing = [k.change.__name__ for k in KINDS if k.change not in held]
    assert not missing, (
        f"every_change_site() (tests/plan/render/render_plans.py) has no {', '.join(missing)}: "
        "add one, count it below, then PLUTOCTL_REGEN=1 pytest tests/plan/render and review"
    )
    assert sorted(held, key=lambda c: c.__name__) == sorted(
        (k.change for k in KINDS), key=lambda c: c.__name__
    )


def test_summarize_counts_every_kind() -> None:
    summary = summarize(every_change_site())
    assert summary == SiteSummary.of(
        segments_create=1,
        segments_update=1,
        segments_delete=1,
        members_add=3,
        members_remove=2,
        groups_create=1,
        groups_update=1,
        groups_delete=1,
        group_members_add=2,
        group_members_remove=1,
        enrol=2,
        unenrol=1,
        api_calls=14,
    )


def test_refused_changes_are_not_counted() -> None:
    site = every_change_site()
    assert summarize(site).count(DeleteSegment) == 1  # legacy (refused) is not counted


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        pytest.param(SiteSummary(), "No changes.", id="empty"),
        pytest.param(SiteSummary.of(api_calls=3), "No changes.", id="calls-only"),
        pytest.param(
            SiteSummary.of(segments_create=2, segments_update=1, members_add=1204,
                           members_remove=37, groups_create=3),
            "Plan: 2 segments to create, 1 to update, 0 to delete; +1,204 / −37 members; "
            "3 groups to create.",
            id="spec-example",
        ),
        pytest.param(
            SiteSummary.of(segments_create=1, members_add=1),
            "Plan: 1 segment to create, 0 to update, 0 to delete; +1 / −0 members.",
            id="singular",
        ),
        pytest.param(
            SiteSummary.of(groups_delete=1, group_members_remove=2, unenrol=1_000_000),
            "Plan: 0 segments to create, 0 to update, 0 to delete; +0 / −0 members; "
            "1 group to delete; +0 / −2 group members; +0 / −1,000,000 enrolments.",
            id="groups-and-enrolment",
        ),
    ],
)  # fmt: skip
def test_line(summary: SiteSummary, expected: str) -> None:
    assert summary.line() == expected


def test_total_adds_sites_and_labels_the_line() -> None:
    a = summarize(SitePlan("a", changes=(AddSegmentMembers("s", names("u", 1500)),), api_calls=2))
    b = summarize(
        SitePlan(
            "b",
            changes=(
                CreateSegment("s", SegmentFields("S")),
                UpdateSegment("t", 1, SegmentFields("T"), (("name", "t", "T"),)),
                RemoveSegmentMembers("t", ("x",), 3),
                CreateGroup("C", "g", "G", ""),
                Enrol("C", "student", ("x", "y"), "s"),
            ),
            api_calls=5,
        )
    )
    both = total([a, b])
    assert both.count(AddSegmentMembers) == 1500
    assert both.api_calls == 7
    assert both.line("Total") == (
        "Total: 1 segment to create, 1 to update, 0 to delete; +1,500 / −1 members; "
        "1 group to create; +2 / −0 enrolments."
    )
    assert total([]) == SiteSummary()


def test_a_kind_the_headline_does_not_name_is_shown_by_its_label() -> None:
    # What a new kind shows until the headline names it: here the enrolments, with
    # a headline of the segment parts only.
    summary = SiteSummary.of(members_add=2, enrol=1_204, unenrol=0, groups_update=1)
    assert summary.line(headline=HEADLINE[:2]) == (
        "Plan: 0 segments to create, 0 to update, 0 to delete; +2 / −0 members; "
        "groups to update: 1; users to enrol: 1,204."
    )
    assert summary.line() == (
        "Plan: 0 segments to create, 0 to update, 0 to delete; +2 / −0 members; "
        "1 group to update; +1,204 / −0 enrolments."
    )


def test_the_headline_names_kinds_of_the_table_each_once() -> None:
    named = [kind for part in HEADLINE for kind in part.kinds]
    assert len(named) == len(set(named))
    assert set(named) <= {k.change for k in KINDS}


def test_counts_are_read_by_change_class_and_built_from_the_plan_json_keys() -> None:
    summary = SiteSummary.of(members_remove=3, api_calls=2)
    assert summary.count(RemoveSegmentMembers) == 3
    assert summary.count(AddSegmentMembers) == 0
    assert summary.as_dict()["members_remove"] == 3
    assert summary.as_dict()["api_calls"] == 2
    with pytest.raises(TypeError, match="no summary count is named members"):
        SiteSummary.of(members=3)
    with pytest.raises(ValueError, match="counts"):
        SiteSummary((1, 2), 0)
