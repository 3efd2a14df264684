"""Fault injection and the request log, seen from a plain HTTP client."""

from __future__ import annotations

import pytest
import requests
from ws_helpers import call, post

from plutoctl.sandbox import Sandbox
from plutoctl.sandbox.faults import FaultInjector

ADD = "core_cohort_create_cohorts"


def create_params(idnumber: str) -> dict:
    return {"cohorts": [{"categorytype": {"type": "system", "value": ""}, "name": idnumber,
                         "idnumber": idnumber}]}  # fmt: skip


def test_status_fault_with_retry_after(sandbox: Sandbox) -> None:
    sandbox.faults.inject("status", status=503, retry_after=2, times=1)
    first = post(sandbox, "core_cohort_get_cohorts")
    assert (first.status_code, first.headers["Retry-After"]) == (503, "2")
    assert post(sandbox, "core_cohort_get_cohorts").status_code == 200
    assert [e.status for e in sandbox.log] == [503, 200]


def test_status_fault_does_not_run_the_write(sandbox: Sandbox) -> None:
    sandbox.faults.inject("status", status=500, writes_only=True)
    assert post(sandbox, ADD, create_params("a")).status_code == 500
    assert post(sandbox, "core_cohort_get_cohorts").status_code == 200
    assert sandbox.store.cohorts() == {}


def test_nth_call_of_a_function(sandbox: Sandbox) -> None:
    rule = sandbox.faults.inject("status", function=ADD, nth=2, status=503)
    codes = [post(sandbox, ADD, create_params(f"c{i}")).status_code for i in range(3)]
    assert codes == [200, 503, 200]
    assert rule.fired == 1
    assert set(sandbox.store.cohorts()) == {"c0", "c2"}


@pytest.mark.parametrize(("after_write", "created"), [(False, set()), (True, {"a"})])
def test_drop_before_or_after_the_write(sandbox: Sandbox, after_write: bool, created: set) -> None:
    sandbox.faults.inject("drop", function=ADD, times=1, after_write=after_write)
    with pytest.raises(requests.ConnectionError):
        post(sandbox, ADD, create_params("a"))
    assert set(sandbox.store.cohorts()) == created
    assert sandbox.log[-1].status == 0
    assert post(sandbox, "core_cohort_get_cohorts").status_code == 200


def test_latency_is_added_and_logged(sandbox: Sandbox) -> None:
    sandbox.faults.inject("latency", seconds=0.2, function="core_cohort_get_cohorts")
    call(sandbox, "core_cohort_get_cohorts")
    call(sandbox, "core_webservice_get_site_info")
    slow, fast = sandbox.log[0], sandbox.log[1]
    assert slow.duration >= 0.2
    assert fast.duration < 0.2


def test_clear_removes_faults(sandbox: Sandbox) -> None:
    sandbox.faults.inject("status", status=500)
    sandbox.faults.clear()
    assert post(sandbox, "core_cohort_get_cohorts").status_code == 200


def test_rate_is_seeded_and_repeatable() -> None:
    def pattern() -> list[bool]:
        faults = FaultInjector()
        faults.seed(42)
        faults.inject("status", rate=0.3)
        return [faults.decide("f", is_write=False).failure is not None for _ in range(200)]

    first = pattern()
    assert first == pattern()
    assert 30 < sum(first) < 90


def test_unknown_fault_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        FaultInjector().inject("explode")


def test_log_counts_by_function(sandbox: Sandbox) -> None:
    call(sandbox, "core_cohort_get_cohorts", {"cohortids": [1, 2, 3]})
    call(sandbox, "core_cohort_get_cohorts")
    call(sandbox, "core_webservice_get_site_info")
    assert sandbox.log.count() == 3
    assert sandbox.log.count("core_cohort_get_cohorts") == 2
    assert sandbox.log[0].param_count == 7
    assert sandbox.log[0].function == "core_cohort_get_cohorts"
    sandbox.log.clear()
    assert len(sandbox.log) == 0
