"""The sandbox's cost model against the measured costs of a real Moodle.

These tests are about time, so they wait for real (a few seconds in all). Each
makes small calls and checks what the model charged them, as the sandbox's request
log records it, against the reference table (within 20%), and that every call took
at least that long. How much longer a call takes depends on the machine's load (the
sandbox builds the answer while the model's time runs), so no test bounds it from
above: the figures under load are for benchmarks/cost_model.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from ws_helpers import call

from plutoctl.errors import SandboxError
from plutoctl.lms.functions import speedup
from plutoctl.sandbox import CostModel, FieldSpec, Sandbox, generate, model_named
from plutoctl.sandbox.server import LoggedRequest

# (low, high) ms per item from the reference table (docs/lms.md, "What calls cost").
LISTING = {
    "id,username": (0.25, 0.34),
    "id,username,customfields": (0.77, 0.88),
    "id,username,firstname,lastname,email,suspended,customfields": (1.9, 1.9),
}
BY_FIELD = (3.0, 3.4)
ADD_MEMBERS_ONE_STREAM = (1.75, 2.2)
ADD_MEMBERS_THREE_STREAMS = (0.68, 0.83)
FIXED = (20.0, 35.0)
TOLERANCE = 0.2


def within(value: float, bounds: tuple[float, float]) -> bool:
    low, high = bounds
    return low * (1 - TOLERANCE) <= value <= high * (1 + TOLERANCE)


@pytest.fixture(scope="module")
def site() -> Iterator[Sandbox]:
    with Sandbox.start(max_input_vars=5000, costs=CostModel()) as sb:
        generate(
            sb.store,
            users=700,
            courses=0,
            fields=[FieldSpec("department", "menu", ("A", "B")), FieldSpec("region", "text")],
        )
        sb.store.add_cohort("c1", "Cohort 1")
        yield sb


def served_at_least_modelled(entries: list[LoggedRequest]) -> None:
    """Each call lasted at least the time the model charged it (it was applied)."""
    for entry in entries:
        assert entry.modelled > 0, entry
        assert entry.duration >= entry.modelled * 0.95, entry


def server_seconds(sb: Sandbox, function: str, params: dict[str, Any]) -> float:
    """Call once and return the server seconds the model charged it, by the log."""
    before = len(sb.log)
    body = call(sb, function, params)
    assert not (isinstance(body, dict) and "exception" in body), body
    entry = sb.log[before]
    served_at_least_modelled([entry])
    return entry.modelled


def listing(fields: str, count: int) -> dict[str, Any]:
    options = [
        {"name": "userfields", "value": fields},
        {"name": "limitnumber", "value": count},
    ]
    return {"courseid": 1, "options": options}


def user_ids(sb: Sandbox, count: int) -> list[int]:
    return [u["id"] for u in call(sb, "core_enrol_get_enrolled_users", listing("id", count))]


@pytest.mark.parametrize("fields", list(LISTING), ids=["id-username", "customfields", "seven"])
def test_listing_costs_per_user_as_measured(site: Sandbox, fields: str) -> None:
    small = server_seconds(site, "core_enrol_get_enrolled_users", listing(fields, 50))
    large = server_seconds(site, "core_enrol_get_enrolled_users", listing(fields, 550))
    per_user_ms = (large - small) / 500 * 1000
    assert within(per_user_ms, LISTING[fields]), per_user_ms


def test_lookup_by_field_costs_ten_times_the_cheapest_listing(site: Sandbox) -> None:
    ids = user_ids(site, 120)
    small = server_seconds(
        site, "core_user_get_users_by_field", {"field": "id", "values": ids[:20]}
    )
    large = server_seconds(site, "core_user_get_users_by_field", {"field": "id", "values": ids})
    per_user_ms = (large - small) / 100 * 1000
    assert within(per_user_ms, BY_FIELD), per_user_ms


def test_every_call_has_the_fixed_cost(site: Sandbox) -> None:
    fixed_ms = server_seconds(site, "core_course_get_courses_by_field", {}) * 1000
    assert within(fixed_ms, FIXED), fixed_ms
    info_ms = server_seconds(site, "core_webservice_get_site_info", {}) * 1000
    assert within(info_ms, (33.0, 33.0)), info_ms


def members(cohort: int, ids: list[int]) -> dict[str, Any]:
    return {
        "members": [
            {"cohorttype": {"type": "id", "value": cohort}, "usertype": {"type": "id", "value": i}}
            for i in ids
        ]
    }


def cohort_id(sb: Sandbox) -> int:
    return int(sb.store.cohorts()["c1"]["id"])


def test_cohort_adds_one_stream_as_measured(site: Sandbox) -> None:
    ids, cid = user_ids(site, 170), cohort_id(site)
    small = server_seconds(site, "core_cohort_add_cohort_members", members(cid, ids[:20]))
    large = server_seconds(site, "core_cohort_add_cohort_members", members(cid, ids[20:]))
    per_item_ms = (large - small) / 130 * 1000
    assert within(per_item_ms, ADD_MEMBERS_ONE_STREAM), per_item_ms


def served_together(sb: Sandbox, batches: list[list[int]]) -> float:
    """Send the batches at once; return the model's time to serve them all together.

    The batches share the server: their one-stream seconds divided by the speedup of
    that many calls in flight. The slowest call lasted at least that long.
    """
    cid, before = cohort_id(sb), len(sb.log)
    with ThreadPoolExecutor(len(batches)) as pool:
        list(
            pool.map(lambda b: call(sb, "core_cohort_add_cohort_members", members(cid, b)), batches)
        )
    entries = list(sb.log)[before:]
    together = sum(entry.modelled for entry in entries) / speedup(len(batches))
    assert max(entry.duration for entry in entries) >= together * 0.95, entries
    return together


def test_three_streams_of_adds_as_measured(site: Sandbox) -> None:
    ids = user_ids(site, 700)[200:]
    per_item_ms = served_together(site, [ids[0:120], ids[120:240], ids[240:360]]) / 360 * 1000
    assert within(per_item_ms, ADD_MEMBERS_THREE_STREAMS), per_item_ms


class ManualClock:
    """A clock the test moves: the model's accounting without waiting for real time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("in_flight", "streams"),
    [(1, (1.0, 1.0)), (2, (1.8, 2.2)), (3, (2.5, 3.0)), (4, (2.5, 3.0)), (8, (2.5, 3.0))],
)
def test_calls_in_flight_share_what_a_site_serves(
    in_flight: int, streams: tuple[float, float]
) -> None:
    # 2-4 calls in flight give about 2.5-3x one stream; more give nothing.
    clock = ManualClock()
    model = CostModel(clock)
    jobs = [model.arrive() for _ in range(in_flight)]
    clock.now = 1.0
    for job in jobs:
        model.leave(job)
    served = sum(job.attained for job in jobs)  # one stream's seconds, in one second
    assert within(served, streams), served


def test_calls_in_flight_wait_as_long_as_the_model_says() -> None:
    model = CostModel()
    with ThreadPoolExecutor(8) as pool:
        for count in (1, 3, 4, 8):
            started = time.perf_counter()
            jobs = [model.arrive() for _ in range(count)]
            list(pool.map(lambda job: model.finish(job, 0.1), jobs))
            elapsed = time.perf_counter() - started
            # Never served faster than the model allows (slower only under load).
            assert elapsed >= count * 0.1 / speedup(count) * 0.95, (count, elapsed)


def test_the_model_is_off_unless_named() -> None:
    assert model_named(None) is None and model_named("none") is None
    assert isinstance(model_named("moodle"), CostModel)
    with pytest.raises(SandboxError, match="unknown cost model"):
        model_named("fast")
