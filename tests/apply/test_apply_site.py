"""apply_site against the sandbox: every change kind, convergence, exact call counts."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

import pytest
from apply_helpers import ALLOW_ALL, USERS, Site, desired_site, full_desired, make_plan

from plutoctl.apply.execute import apply_site
from plutoctl.apply.report import ApplyReport, ProgressEvent
from plutoctl.apply.verify import verify_site
from plutoctl.lms.functions import balanced_calls
from plutoctl.lms.reader import ReadScope, read_site
from plutoctl.model import DesiredCourse, DesiredEnrolment, DesiredGroup, ExistingSite
from plutoctl.plan.build import plan_site
from plutoctl.plan.changes.kinds import (
    KINDS,
    AddGroupMembers,
    AddSegmentMembers,
    Change,
    CreateGroup,
    CreateSegment,
    DeleteGroup,
    DeleteSegment,
    Enrol,
    RemoveGroupMembers,
    RemoveSegmentMembers,
    Step,
    Unenrol,
    UpdateGroup,
    UpdateSegment,
)
from plutoctl.plan.changes.plans import SitePlan
from plutoctl.plan.safety import Acknowledgements

ALL_KINDS = {kind.change for kind in KINDS}

WRITE_FUNCTIONS: dict[type, tuple[str, Callable[[Change], int]]] = {
    CreateSegment: ("core_cohort_create_cohorts", lambda c: 1),
    UpdateSegment: ("core_cohort_update_cohorts", lambda c: 1),
    DeleteSegment: ("core_cohort_delete_cohorts", lambda c: 1),
    AddSegmentMembers: ("core_cohort_add_cohort_members", lambda c: len(c.usernames)),
    RemoveSegmentMembers: ("core_cohort_delete_cohort_members", lambda c: len(c.usernames)),
    CreateGroup: ("core_group_create_groups", lambda c: 1),
    UpdateGroup: ("core_group_update_groups", lambda c: 1),
    DeleteGroup: ("core_group_delete_groups", lambda c: 1),
    AddGroupMembers: ("core_group_add_group_members", lambda c: len(c.usernames)),
    RemoveGroupMembers: ("core_group_delete_group_members", lambda c: len(c.usernames)),
    Enrol: ("enrol_manual_enrol_users", lambda c: len(c.usernames)),
    Unenrol: ("enrol_manual_unenrol_users", lambda c: len(c.usernames)),
}


def minimum_calls(site_plan: SitePlan, max_input_vars: int, streams: int) -> Counter[str]:
    """Return, per write function, the calls the plan's items need, spread evenly over
    ``streams`` calls in flight (a multiple of ``streams`` when more than one)."""
    items: Counter[str] = Counter()
    for change in site_plan.changes:
        assert type(change) in WRITE_FUNCTIONS, f"WRITE_FUNCTIONS has no {type(change).__name__}"
        function, count = WRITE_FUNCTIONS[type(change)]
        items[function] += count(change)
    return Counter({f: balanced_calls(f, n, max_input_vars, streams) for f, n in items.items()})


def test_every_change_kind_applies_and_then_plans_empty(site: Site) -> None:
    site_plan, existing = make_plan(site.client, full_desired())
    missing = sorted(k.__name__ for k in ALL_KINDS - {type(c) for c in site_plan.changes})
    assert not missing, f"full_desired() plans no {', '.join(missing)} against the seeded site"
    assert {type(c) for c in site_plan.changes} == ALL_KINDS

    report = apply_site(site.client, site_plan, existing)

    assert report.is_success, report.detail_lines()
    assert not report.failed and not report.skipped
    store = site.store
    cohorts = store.cohorts()
    assert "gone" not in cohorts
    assert cohorts["new-seg"]["name"] == "New segment"
    assert cohorts["old"]["name"] == "New name"
    assert store.cohort_members("new-seg") == set(USERS[:12])
    assert store.cohort_members("old") == {"u20", "u21", "u22", "u26", "u01"}
    groups = store.groups("C1")
    assert set(groups) == {"g-new", "g-old"}
    assert groups["g-old"]["name"] == "Renamed group"
    assert groups["g-new"]["description"] == "made by apply"
    assert store.group_members("C1", "g-new") == set(USERS[:12])
    assert store.group_members("C1", "g-old") == {"u01"}
    assert set(store.enrolments("C1")) == set(USERS[:12])
    assert set(store.enrolments("C2")) == {"u20", "u21", "u22", "u26", "u01"}
    assert verify_site(site.client, site_plan, report) == ()

    again, _ = make_plan(site.client, full_desired())
    assert again.changes == ()


def test_calls_equal_the_balanced_batching(make_site: Callable[..., Site]) -> None:
    site = make_site(max_input_vars=40)
    site_plan, existing = make_plan(site.client, full_desired())
    expected = minimum_calls(site_plan, 40, site.client.parallelism)
    assert max(expected.values()) > 1, "the plan should need several calls for some function"
    log_before = {f: site.sandbox.log.count(f) for f in expected}

    report = apply_site(site.client, site_plan, existing)

    assert report.is_success, report.detail_lines()
    assert Counter(report.calls_by_function) == expected
    assert report.calls == sum(expected.values())
    served = {f: site.sandbox.log.count(f) - log_before[f] for f in expected}
    assert served == dict(expected)


def test_one_slow_call_is_spread_over_the_streams(make_site: Callable[..., Site]) -> None:
    # 500 segment members fit one call at 5,000 variables, but one call is served by one
    # stream: three calls of about 167 finish about 2.6 times sooner on a real site.
    site = make_site(max_input_vars=5000)
    many = [f"bulk{i:03d}" for i in range(500)]
    for name in many:
        site.sandbox.store.add_user(name)
    desired = desired_site({"big": ("Big", frozenset(many))})
    scope = ReadScope(segments=frozenset({"big"}), usernames=frozenset(many))

    def plan() -> tuple[SitePlan, ExistingSite]:
        existing = read_site(site.client, scope)
        return plan_site(
            desired, existing, policy=ALLOW_ALL, acks=Acknowledgements(), max_input_vars=5000
        ), existing

    site_plan, existing = plan()
    expected = minimum_calls(site_plan, 5000, site.client.parallelism)
    assert expected["core_cohort_add_cohort_members"] == 3

    report = apply_site(site.client, site_plan, existing)

    assert report.is_success, report.detail_lines()
    assert Counter(report.calls_by_function) == expected
    assert report.calls == site_plan.api_calls
    assert len(site.sandbox.store.cohort_members("big")) == 500
    assert plan()[0].changes == ()


def test_the_plans_call_estimate_is_the_calls_apply_makes(site: Site) -> None:
    # Groups and enrolments in two courses: apply batches them across courses.
    new_group = DesiredGroup("g-two", "Second", "", segment="both")
    desired = desired_site(
        {"both": ("Both", frozenset(USERS[:3]) | frozenset(USERS[19:22]))},
        {
            "C1": DesiredCourse("C1", groups={"g-two": new_group}),
            "C2": DesiredCourse(
                "C2",
                groups={"g-two": new_group},
                enrolments=(DesiredEnrolment("both", "student"),),
            ),
        },
    )
    deletes = frozenset({"gone", "C1/g-extra", "C1/g-old"})
    site_plan, existing = make_plan(site.client, desired, deletes=deletes)
    assert sum(isinstance(c, CreateGroup) for c in site_plan.changes) == 2

    report = apply_site(site.client, site_plan, existing)

    assert report.is_success, report.detail_lines()
    assert report.calls_by_function["core_group_create_groups"] == 1
    assert report.calls == site_plan.api_calls


def test_progress_reports_each_step_from_zero_to_total(site: Site) -> None:
    site_plan, existing = make_plan(site.client, full_desired())
    events: list[ProgressEvent] = []

    apply_site(site.client, site_plan, existing, progress=events.append)

    steps = {c.step for c in site_plan.changes}
    assert {e.step for e in events} == steps
    for step in steps:
        mine = [e for e in events if e.step == step]
        assert mine[0].done == 0
        assert mine[-1].done == mine[-1].total > 0
    assert "add segment members" in str(
        next(e for e in events if e.step == Step.ADD_SEGMENT_MEMBERS)
    )


def test_already_a_member_is_success(site: Site) -> None:
    existing = make_plan(site.client, full_desired())[1]
    change = AddSegmentMembers("old", ("u20", "u21", "u27"))

    report = apply_site(site.client, SitePlan("t", changes=(change,)), existing)

    assert report.is_success, report.detail_lines()
    assert [(r.subject, r.count) for r in report.done] == [("old", 3)]
    assert {"u20", "u21", "u27"} <= site.store.cohort_members("old")
    assert report.calls == 1


def test_report_to_dict_is_json_and_holds_no_token(site: Site) -> None:
    existing = make_plan(site.client, full_desired())[1]
    changes = (
        AddGroupMembers("C1", "g-old", ("u03", "u15")),
        RemoveSegmentMembers("old", ("u23",), 6),
    )

    report = apply_site(site.client, SitePlan("t", changes=changes), existing)
    text = json.dumps(report.to_dict())

    assert site.sandbox.token not in text
    data = json.loads(text)
    assert data["success"] is False
    assert data["failed"][0]["items"] == ["u15"]
    assert data["failed"][0]["errorcode"] == "invalidparameter"
    assert data["skipped"][0]["subject"] == "old"
    assert data["calls"] == sum(data["calls_by_function"].values())


def test_verify_names_what_still_differs(site: Site) -> None:
    existing = make_plan(site.client, full_desired())[1]
    site_plan = SitePlan("t", changes=(RemoveSegmentMembers("old", ("u23", "u24"), 6),))
    report = apply_site(site.client, site_plan, existing)
    assert report.is_success
    assert verify_site(site.client, site_plan, report) == ()

    site.store.add_cohort_members("old", ["u24"])  # someone puts one back

    notes = verify_site(site.client, site_plan, report)
    assert len(notes) == 1
    assert "u24" in notes[0] and "u23" not in notes[0]


def test_verify_says_it_could_not_check_when_the_re_read_is_incomplete(site: Site) -> None:
    existing = make_plan(site.client, full_desired())[1]
    site_plan = SitePlan("t", changes=(AddSegmentMembers("old", ("u20",)),))
    report = apply_site(site.client, site_plan, existing)
    assert report.is_success
    site.sandbox.faults.inject(kind="status", status=500, function="core_cohort_get_cohort_members")
    notes = verify_site(site.client, site_plan, report)
    assert len(notes) == 1
    assert notes[0].startswith("could not verify: the site's re-read was incomplete")
    assert "u20" not in notes[0]  # it was added: not reported as not done


def test_verify_reads_a_course_it_was_told_of_without_looking_it_up(site: Site) -> None:
    existing = make_plan(site.client, full_desired())[1]
    enrolled = sorted(set(site.store.enrolments("C1")) - site.store.group_members("C1", "g-old"))
    kept, taken = enrolled[:2]
    site_plan = SitePlan("t", changes=(AddGroupMembers("C1", "g-old", (kept, taken)),))
    report = apply_site(site.client, site_plan, existing)
    assert report.is_success, report.detail_lines()
    courses = {name: course.id for name, course in existing.courses.items()}
    lookups = site.client.calls["core_course_get_courses_by_field"]
    assert verify_site(site.client, site_plan, report, known_courses=courses) == ()
    assert site.client.calls["core_course_get_courses_by_field"] == lookups

    with site.store.transaction() as db:  # someone takes one out
        db.execute(
            "DELETE FROM groups_members WHERE userid = ? "
            "AND groupid IN (SELECT id FROM groups WHERE idnumber = 'g-old')",
            (site.store.user_id(taken),),
        )

    notes = verify_site(site.client, site_plan, report, known_courses=courses)
    assert len(notes) == 1
    assert taken in notes[0] and kept not in notes[0]
    assert site.client.calls["core_course_get_courses_by_field"] == lookups
    assert verify_site(site.client, site_plan, report) != ()  # told of nothing: looked up
    assert site.client.calls["core_course_get_courses_by_field"] == lookups + 1


def test_a_plan_with_errors_is_not_applied(site: Site) -> None:
    from plutoctl.errors import PlanError
    from plutoctl.plan.changes.plans import Notice

    existing = make_plan(site.client, full_desired())[1]
    site_plan = SitePlan(
        "t",
        changes=(AddSegmentMembers("old", ("u27",)),),
        errors=(Notice("error", "unknown user"),),
    )
    with pytest.raises(PlanError):
        apply_site(site.client, site_plan, existing)
    assert "u27" not in site.store.cohort_members("old")


def test_summary_counts_done_failed_and_skipped() -> None:
    from plutoctl.apply.report import OperationResult

    report = ApplyReport(
        site="t",
        done=(OperationResult(Step.ADD_SEGMENT_MEMBERS, "a", 1204, calls=5),),
        failed=(
            OperationResult(Step.ADD_GROUP_MEMBERS, "C/g", 1, 3, ("jdoe",), "invalidparameter"),
        ),
        skipped=(OperationResult(Step.REMOVE_SEGMENT_MEMBERS, "a", 36, items=("x",) * 36),),
        calls=9,
    )
    assert report.summary_line() == (
        "applied 1,204 of 1,241 items; 1 operation(s) failed, 1 skipped; 9 API call(s)"
    )
    lines = report.detail_lines()
    assert lines[0] == "done: add segment members 1,204"
    assert lines[1].startswith("failed: add group members C/g (1): invalidparameter")
    assert "[jdoe]" in lines[1]
    assert lines[2].startswith("skipped: remove segment members a (36)")
    assert "(16 more)" in lines[2]
    assert not report.is_success


def test_enrol_uses_the_role_and_verify_checks_it(site: Site) -> None:
    existing = make_plan(site.client, full_desired())[1]
    site_plan = SitePlan("t", changes=(Enrol("C1", "editingteacher", ("u15",), "x"),))

    report = apply_site(site.client, site_plan, existing)

    assert report.is_success, report.detail_lines()
    assert site.store.enrolments("C1")["u15"] == {"editingteacher"}
    assert verify_site(site.client, site_plan, report) == ()


def test_a_username_unknown_to_the_site_fails_without_a_call(site: Site) -> None:
    existing = make_plan(site.client, full_desired())[1]
    change = AddSegmentMembers("old", ("u27", "nobody"))

    report = apply_site(site.client, SitePlan("t", changes=(change,)), existing)

    assert [(r.items, r.errorcode) for r in report.failed] == [(("nobody",), "unresolved")]
    assert "u27" in site.store.cohort_members("old")
    assert report.calls == 1
