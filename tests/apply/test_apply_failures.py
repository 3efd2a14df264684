"""apply_site when things go wrong: partial failure, bad items, races, faults."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import pytest
from apply_helpers import USERS, Site, full_desired, make_plan, open_client

from plutoctl.apply.execute import apply_site
from plutoctl.apply.verify import verify_site
from plutoctl.lms.client import RetryPolicy, SiteClient
from plutoctl.plan.changes.kinds import (
    AddGroupMembers,
    AddSegmentMembers,
    CreateGroup,
    CreateSegment,
    DeleteSegment,
    RemoveGroupMembers,
    RemoveSegmentMembers,
    Step,
)
from plutoctl.plan.changes.plans import SitePlan


def test_partial_failure_skips_and_lists_removals_and_deletes(site: Site) -> None:
    existing = make_plan(site.client, full_desired())[1]
    gone_id = existing.segments["gone"].id
    changes = (
        AddSegmentMembers("old", ("u27",)),
        AddGroupMembers("C1", "g-old", ("u15",)),  # u15 is not enrolled in C1
        RemoveGroupMembers("C1", "g-old", ("u02",), 2),
        RemoveSegmentMembers("old", ("u23",), 6),
        DeleteSegment("gone", gone_id, 2),
    )

    report = apply_site(site.client, SitePlan("t", changes=changes), existing)

    assert not report.is_success
    assert [(r.step, r.subject, r.items) for r in report.failed] == [
        (Step.ADD_GROUP_MEMBERS, "C1/g-old", ("u15",))
    ]
    assert report.failed[0].errorcode == "invalidparameter"
    assert [(r.step, r.subject, r.count) for r in report.done] == [
        (Step.ADD_SEGMENT_MEMBERS, "old", 1)
    ]
    assert {(r.step, r.subject) for r in report.skipped} == {
        (Step.REMOVE_GROUP_MEMBERS, "C1/g-old"),
        (Step.REMOVE_SEGMENT_MEMBERS, "old"),
        (Step.DELETE_SEGMENT, "gone"),
    }
    store = site.store
    assert "u27" in store.cohort_members("old")
    assert "u23" in store.cohort_members("old")
    assert store.group_members("C1", "g-old") == {"u01", "u02"}
    assert "gone" in store.cohorts()
    assert any(line.startswith("skipped: delete segment gone") for line in report.detail_lines())


def test_bisection_isolates_one_bad_user_in_a_group_add(site: Site) -> None:
    existing = make_plan(site.client, full_desired())[1]
    names = (*USERS[:10], "u15")  # everyone but u15 is enrolled in C1
    change = AddGroupMembers("C1", "g-extra", names)

    report = apply_site(site.client, SitePlan("t", changes=(change,)), existing)

    assert [(r.items, r.errorcode) for r in report.failed] == [(("u15",), "invalidparameter")]
    assert [(r.subject, r.count) for r in report.done] == [("C1/g-extra", 10)]
    assert site.store.group_members("C1", "g-extra") == set(USERS[:10])
    # one rejected call, then two halves a level, about log2(n) levels down to the item.
    calls = report.calls_by_function["core_group_add_group_members"]
    assert 2 <= calls <= 1 + 2 * math.ceil(math.log2(len(names)))


def test_bisection_stops_at_its_budget_and_reports_the_rest(site: Site) -> None:
    existing = make_plan(site.client, full_desired())[1]
    names = (*USERS[:10], "u15", "u16")
    change = AddGroupMembers("C1", "g-extra", names)

    report = apply_site(site.client, SitePlan("t", changes=(change,)), existing, bisect_budget=1)

    assert report.calls_by_function["core_group_add_group_members"] == 2
    failed = {u for r in report.failed for u in r.items}
    done = site.store.group_members("C1", "g-extra")  # u03 was there already
    assert {"u15", "u16"} <= failed
    assert failed | done == set(names)
    assert not failed & done


def test_a_segment_created_by_someone_else_is_adopted(site: Site) -> None:
    site_plan, existing = make_plan(site.client, full_desired())
    assert any(isinstance(c, CreateSegment) and c.idnumber == "new-seg" for c in site_plan.changes)
    site.store.add_cohort("new-seg", "Made by hand")  # between plan and apply

    report = apply_site(site.client, site_plan, existing)

    assert report.is_success, report.detail_lines()
    assert any("new-seg" in note and "adopted" in note for note in report.notes)
    # Counted once, as the one create it stands for (its fields' update is not a second).
    created = [r for r in report.done if r.step == Step.CREATE_SEGMENT and r.subject == "new-seg"]
    assert sum(r.count for r in created) == 1
    cohorts = site.store.cohorts()
    assert cohorts["new-seg"]["name"] == "New segment"
    assert site.store.cohort_members("new-seg") == set(USERS[:12])
    assert verify_site(site.client, site_plan, report) == ()
    assert make_plan(site.client, full_desired())[0].changes == ()


def test_adds_into_a_group_that_could_not_be_created_are_skipped(site: Site) -> None:
    existing = make_plan(site.client, full_desired())[1]
    changes = (
        CreateGroup("C1", "g-dup", "Old group", ""),  # the name is taken in C1
        AddGroupMembers("C1", "g-dup", ("u01",)),
        RemoveSegmentMembers("old", ("u23",), 6),
    )

    report = apply_site(site.client, SitePlan("t", changes=changes), existing)

    assert [(r.step, r.subject) for r in report.failed] == [(Step.CREATE_GROUP, "C1/g-dup")]
    assert {(r.step, r.subject) for r in report.skipped} == {
        (Step.ADD_GROUP_MEMBERS, "C1/g-dup"),
        (Step.REMOVE_SEGMENT_MEMBERS, "old"),
    }
    assert "g-dup" not in site.store.groups("C1")


def test_a_create_whose_answer_was_lost_is_not_made_twice(site: Site) -> None:
    existing = make_plan(site.client, full_desired())[1]
    site.sandbox.faults.inject(
        "drop", function="core_cohort_create_cohorts", after_write=True, times=1
    )
    changes = (CreateSegment("fresh", fields_of("Fresh")), AddSegmentMembers("fresh", ("u01",)))

    report = apply_site(site.client, SitePlan("t", changes=changes), existing)

    assert report.is_success, report.detail_lines()
    assert report.calls_by_function["core_cohort_create_cohorts"] == 1
    assert list(site.store.cohorts()).count("fresh") == 1
    assert site.store.cohort_members("fresh") == {"u01"}


def fields_of(name: str):
    from plutoctl.model import SegmentFields

    return SegmentFields(name)


@pytest.mark.parametrize("seed", [7, 11, 23], ids=lambda s: f"seed{s}")
def test_apply_then_apply_converges_under_faults(make_site: Callable[..., Site], seed: int) -> None:
    site = make_site(max_input_vars=24)
    faults = site.sandbox.faults
    faults.seed(seed)
    faults.inject("status", rate=0.1, status=503, writes_only=True)
    faults.inject("drop", rate=0.05, writes_only=True)
    faults.inject("drop", rate=0.05, writes_only=True, after_write=True)
    # Creates and deletes are not retried: make sure their failure paths are taken.
    faults.inject("drop", function="core_cohort_create_cohorts", after_write=True, times=1)
    faults.inject("status", function="core_group_create_groups", status=503, times=1)
    faults.inject("drop", function="core_cohort_delete_cohorts", after_write=True, times=1)
    desired = full_desired()
    # Desired members that are there from the start must never be removed.
    keep_segment = {"u20", "u21", "u22"}
    keep_c1 = set(USERS[:10])

    for _ in range(5):
        site_plan, existing = make_plan(site.client, desired)
        if not site_plan.changes:
            break
        report = apply_site(site.client, site_plan, existing)
        if report.failed:
            assert not any(r.step in REMOVALS for r in report.done)
        assert keep_segment <= site.store.cohort_members("old")
        assert keep_c1 <= set(site.store.enrolments("C1"))
        assert "u01" in site.store.group_members("C1", "g-old")
    else:
        raise AssertionError("apply did not converge in 5 rounds")
    assert sum(1 for entry in site.sandbox.log if entry.status in (0, 503)) >= 3
    assert site.store.cohort_members("new-seg") == set(USERS[:12])
    assert site.store.cohort_members("old") == {"u20", "u21", "u22", "u26", "u01"}
    assert set(site.store.cohorts()) == {"old", "new-seg"}
    assert set(site.store.groups("C1")) == {"g-new", "g-old"}
    assert site.store.group_members("C1", "g-new") == set(USERS[:12])


REMOVALS = {
    Step.REMOVE_GROUP_MEMBERS,
    Step.UNENROL,
    Step.REMOVE_SEGMENT_MEMBERS,
    Step.DELETE_GROUP,
    Step.DELETE_SEGMENT,
}


@pytest.mark.parametrize("kind", ["create", "delete"])
def test_a_failed_re_read_after_a_lost_answer_keeps_the_report(site: Site, kind: str) -> None:
    """The re-read that would tell whether a create or delete happened fails too: those
    items are reported failed, what was done stays in the report, and the next apply
    finishes the work."""
    existing = make_plan(site.client, full_desired())[1]
    if kind == "create":
        lost, reread = "core_cohort_create_cohorts", "core_cohort_search_cohorts"
        changes: tuple = (
            CreateGroup("C1", "g-new", "New group", ""),
            CreateSegment("fresh", fields_of("Fresh")),
            AddSegmentMembers("fresh", ("u01",)),
        )
    else:
        site.store.add_cohort("gone", "Gone")
        existing = make_plan(site.client, full_desired())[1]
        lost, reread = "core_cohort_delete_cohorts", "core_cohort_get_cohorts"
        changes = (
            CreateGroup("C1", "g-new", "New group", ""),
            DeleteSegment("gone", existing.segments["gone"].id, 0),
        )
    site.sandbox.faults.inject("drop", function=lost, after_write=True, times=1)
    site.sandbox.faults.inject("status", function=reread, status=503)

    report = apply_site(site.client, SitePlan("t", changes=changes), existing)

    assert not report.is_success
    assert [(r.step, r.subject) for r in report.done] == [(Step.CREATE_GROUP, "C1/g-new")]
    (failed,) = [r for r in report.failed if r.subject in ("fresh", "gone")]
    assert "whether it happened is unknown, as reading it again failed" in failed.message
    site.sandbox.faults.clear()
    existing = make_plan(site.client, full_desired())[1]
    again = apply_site(site.client, SitePlan("t", changes=changes), existing)
    assert again.is_success, again.detail_lines()


def stop_once_called(client: SiteClient, function: str) -> threading.Event:
    """Return a stop event set (Ctrl-C, as it were) once the client has sent ``function``:
    the call is counted before it goes out, so the stop lands while it is in flight."""
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if client.calls[function] >= 1:
                stop.set()
            time.sleep(0.002)

    threading.Thread(target=watch, daemon=True).start()
    return stop


def test_after_ctrl_c_a_failed_call_is_not_retried(site: Site) -> None:
    """A call failing while apply is being stopped is not repeated, and the wait for its
    retry (30 s asked by the site) ends at once."""
    existing = make_plan(site.client, full_desired())[1]
    site.sandbox.faults.inject(
        "status", function="core_cohort_add_cohort_members", status=503, retry_after=30
    )
    with open_client(site.sandbox, retry=RetryPolicy(attempts=5)) as client:
        stop = stop_once_called(client, "core_cohort_add_cohort_members")
        change = AddSegmentMembers("old", ("u01",))
        report = apply_site(client, SitePlan("t", changes=(change,)), existing, stop=stop)
    assert report.calls_by_function["core_cohort_add_cohort_members"] == 1
    (failed,) = report.failed
    assert "not retried: apply was interrupted" in failed.message


def test_after_ctrl_c_a_rejected_batch_is_not_bisected(site: Site) -> None:
    existing = make_plan(site.client, full_desired())[1]
    site.sandbox.faults.inject("latency", function="core_group_add_group_members", seconds=0.6)
    names = (*USERS[:10], "u15")  # u15 is not enrolled in C1: the batch is refused whole
    before = site.store.group_members("C1", "g-extra")
    stop = stop_once_called(site.client, "core_group_add_group_members")  # while in flight
    change = AddGroupMembers("C1", "g-extra", names)
    report = apply_site(site.client, SitePlan("t", changes=(change,)), existing, stop=stop)
    assert report.calls_by_function["core_group_add_group_members"] == 1
    assert not report.done and report.skipped
    assert site.store.group_members("C1", "g-extra") == before


def test_a_batch_too_large_for_the_site_fails_no_item_that_was_not_sent_alone(
    make_site: Callable[..., Site],
) -> None:
    """A site whose real max_input_vars is below what the client was told refuses the
    whole call (PHP cuts an item in half): the halves go through, and nothing is blamed."""
    site = make_site(max_input_vars=14)  # ten members (20 variables) do not fit; five do
    existing = make_plan(site.client, full_desired())[1]
    with open_client(site.sandbox) as client:
        client.max_input_vars = 1000
        change = AddGroupMembers("C1", "g-extra", tuple(USERS[:10]))
        report = apply_site(client, SitePlan("t", changes=(change,)), existing)
    assert report.is_success, report.detail_lines()
    assert site.store.group_members("C1", "g-extra") >= set(USERS[:10])
