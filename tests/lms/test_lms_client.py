"""The site client over real HTTP against the sandbox: calls, errors, retries, batching."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest

from plutoctl.errors import (
    AccessDeniedError,
    InvalidParameterError,
    InvalidTokenError,
    LmsError,
    MissingRecordError,
    TransportError,
)
from plutoctl.lms.client import RetryPolicy, SiteClient
from plutoctl.sandbox import Sandbox

NO_WAIT = RetryPolicy(attempts=3, backoff=0)


class Sleeps(list[float]):
    """An injectable sleep that records the delays instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox.start() as sandbox:
        for i in range(5):
            sandbox.store.add_user(f"u{i}")
        yield sandbox


def make_client(sb: Sandbox, **kwargs) -> SiteClient:
    options = {"retry": NO_WAIT, "max_input_vars": 1000, "parallelism": 3, **kwargs}
    return SiteClient(
        site="lab",
        url=sb.url,
        token=kwargs.pop("token", sb.token),
        **{k: v for k, v in options.items() if k != "token"},
    )


def test_site_info_is_read_once(sb: Sandbox) -> None:
    with make_client(sb) as client:
        first = client.site_info()
        assert client.site_info() is first
    assert "core_cohort_get_cohort_members" in first.functions
    assert first.release
    assert client.calls["core_webservice_get_site_info"] == 1


def test_wrong_token_is_refused(sb: Sandbox) -> None:
    with make_client(sb, token="f" * 32) as client, pytest.raises(InvalidTokenError) as caught:
        client.call("core_webservice_get_site_info", retry_safe=True)
    assert "refused the token" in str(caught.value)
    assert caught.value.site == "lab"


def test_unknown_record_is_a_missing_record_error(sb: Sandbox) -> None:
    with make_client(sb) as client, pytest.raises(MissingRecordError):
        client.call("core_cohort_delete_cohorts", {"cohortids": [999999]}, retry_safe=False)


def test_function_outside_the_service_is_access_denied() -> None:
    only = ["core_webservice_get_site_info"]
    with (
        Sandbox.start(functions=only) as sb,
        make_client(sb) as client,
        pytest.raises(AccessDeniedError) as caught,
    ):
        client.call("core_cohort_get_cohorts", retry_safe=True)
    assert caught.value.errorcode == "accessexception"
    assert "service" in (caught.value.hint or "")


def test_require_functions_lists_every_missing_function_at_once() -> None:
    allowed = ["core_webservice_get_site_info", "core_cohort_get_cohorts"]
    with Sandbox.start(functions=allowed) as sb, make_client(sb) as client:
        client.require_functions(allowed)  # all present: no error
        with pytest.raises(AccessDeniedError) as caught:
            extra = ["core_group_get_course_groups", "core_cohort_add_cohort_members"]
            client.require_functions([*allowed, *extra])
    message = str(caught.value)
    assert "core_cohort_add_cohort_members, core_group_get_course_groups" in message
    assert "core_cohort_get_cohorts" not in message.split("needs:")[1]
    assert "External services" in (caught.value.hint or "")


# --- retries ----------------------------------------------------------------------------


def test_read_retries_through_503s_and_honours_retry_after(sb: Sandbox) -> None:
    sleeps = Sleeps()
    sb.faults.inject(
        kind="status", status=503, retry_after=2, times=2, function="core_cohort_get_cohorts"
    )
    with make_client(sb, sleep=sleeps) as client:
        assert client.call("core_cohort_get_cohorts", retry_safe=True) == []
        assert client.calls["core_cohort_get_cohorts"] == 3
    assert sleeps == [2.0, 2.0]
    assert client.calls["core_cohort_get_cohorts"] == 3


def test_the_retry_policy_carries_the_sleep(sb: Sandbox) -> None:
    sleeps = Sleeps()
    sb.faults.inject(
        kind="status", status=503, retry_after=3, times=2, function="core_cohort_get_cohorts"
    )
    policy = RetryPolicy(attempts=3, sleep=sleeps)
    with SiteClient(site="lab", url=sb.url, token=sb.token, retry=policy) as client:
        assert client.call("core_cohort_get_cohorts", retry_safe=True) == []
        assert client.calls["core_cohort_get_cohorts"] == 3
    assert sleeps == [3.0, 3.0]


def test_a_rate_limit_says_so_and_a_long_wait_is_logged_where_it_is_seen(
    sb: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """HTTP 429 with Retry-After 3600: waited out up to the policy's ceiling, said as a
    warning (a plan silent for minutes looks hung), and given up as a rate limit."""
    sleeps = Sleeps()
    sb.faults.inject(
        kind="status", status=429, retry_after=3600, function="core_cohort_get_cohorts"
    )
    policy = RetryPolicy(attempts=3, sleep=sleeps)
    with (
        caplog.at_level(logging.WARNING, logger="plutoctl.lms.client"),
        SiteClient(site="lab", url=sb.url, token=sb.token, retry=policy) as client,
        pytest.raises(LmsError) as caught,
    ):
        client.call("core_cohort_get_cohorts", retry_safe=True)
    assert sleeps == [30.0, 30.0]
    waits = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert waits == [
        "lab: core_cohort_get_cohorts failed (http429); retry 1/2 in 30.00s",
        "lab: core_cohort_get_cohorts failed (http429); retry 2/2 in 30.00s",
    ]
    assert "HTTP 429 (it asked to wait 3,600 s)" in caught.value.message
    assert "limits how fast it is called (HTTP 429)" in (caught.value.hint or "")


def test_a_policy_without_waiting_retries_as_the_default_does() -> None:
    policy = RetryPolicy.without_waiting()
    assert policy == RetryPolicy()  # the sleep is not part of what a policy is
    assert policy.sleep is not time.sleep


def test_read_retries_through_dropped_connections(sb: Sandbox) -> None:
    sb.faults.inject(kind="drop", times=2, function="core_cohort_get_cohorts")
    with make_client(sb, sleep=Sleeps()) as client:
        assert client.call("core_cohort_get_cohorts", retry_safe=True) == []
        assert client.calls["core_cohort_get_cohorts"] == 3


def test_read_retries_after_a_read_timeout(sb: Sandbox) -> None:
    sb.faults.inject(kind="latency", seconds=1.0, times=1, function="core_cohort_get_cohorts")
    with make_client(sb, sleep=Sleeps(), timeout=(2.0, 0.25)) as client:
        assert client.call("core_cohort_get_cohorts", retry_safe=True) == []
        assert client.calls["core_cohort_get_cohorts"] == 2


def test_exhausted_retries_name_the_site_and_function(sb: Sandbox) -> None:
    sb.faults.inject(kind="status", status=503, rate=1.0, function="core_cohort_get_cohorts")
    with make_client(sb, sleep=Sleeps()) as client, pytest.raises(TransportError) as caught:
        client.call("core_cohort_get_cohorts", retry_safe=True)
    error = caught.value
    assert str(error).startswith("site 'lab', core_cohort_get_cohorts: HTTP 503")
    assert "gave up after 3 attempts" in str(error)
    assert error.errorcode == "http503"
    assert client.calls["core_cohort_get_cohorts"] == 3


def test_creates_are_never_retried(sb: Sandbox) -> None:
    sb.faults.inject(kind="status", status=503, times=1, function="core_cohort_create_cohorts")
    cohort = {"categorytype": {"type": "system", "value": ""}, "name": "A", "idnumber": "a"}
    with make_client(sb, sleep=Sleeps()) as client, pytest.raises(TransportError):
        client.call("core_cohort_create_cohorts", {"cohorts": [cohort]}, retry_safe=False)
    assert client.calls["core_cohort_create_cohorts"] == 1
    assert "a" not in sb.store.cohorts()


def test_idempotent_writes_are_retried(sb: Sandbox) -> None:
    sb.store.add_cohort("c1", "C1")
    sb.faults.inject(kind="status", status=502, times=1, function="core_cohort_add_cohort_members")
    members = [
        {
            "cohorttype": {"type": "idnumber", "value": "c1"},
            "usertype": {"type": "username", "value": "u1"},
        }
    ]
    with make_client(sb, sleep=Sleeps()) as client:
        client.call("core_cohort_add_cohort_members", {"members": members}, retry_safe=True)
    assert sb.store.cohort_members("c1") == {"u1"}


# --- batching ---------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "calls"), [(45, 1), (46, 2), (90, 2), (91, 3)])
def test_chunks_fill_max_input_vars_exactly(count: int, calls: int) -> None:
    # 50 variables = 4 reserved + field + 45 values: 45 values fit one call exactly.
    # One call in flight: the greedy runs (with more, calls are evened out over them).
    with Sandbox.start(max_input_vars=50) as sb:
        names = [f"user{i:03d}" for i in range(count)]
        for name in names:
            sb.store.add_user(name)
        with make_client(sb, max_input_vars=50, parallelism=1) as client:
            results = client.call_chunked(
                "core_user_get_users_by_field",
                "values",
                names,
                params={"field": "username"},
                retry_safe=True,
            )
        assert [r.error for r in results] == [None] * calls
        found = sorted(u["username"] for r in results for u in r.result)
        assert found == names  # nothing was cut off by max_input_vars
        assert client.calls["core_user_get_users_by_field"] == calls
        assert len(results[0].items) == min(count, 45)


class StopAfter(threading.Event):
    """A stop request made once ``checks`` chunks have been let through."""

    def __init__(self, checks: int) -> None:
        super().__init__()
        self._checks = checks
        self._lock = threading.Lock()

    def is_set(self) -> bool:
        with self._lock:
            self._checks -= 1
            return self._checks < 0


@pytest.mark.parametrize("parallelism", [1, 3])
def test_once_stopped_no_further_chunk_is_sent(parallelism: int) -> None:
    with Sandbox.start(max_input_vars=50) as sb:
        names = [f"user{i:03d}" for i in range(91)]
        for name in names:
            sb.store.add_user(name)
        with make_client(sb, max_input_vars=50, parallelism=parallelism) as client:
            results = client.call_chunked(
                "core_user_get_users_by_field",
                "values",
                names,
                params={"field": "username"},
                retry_safe=True,
                stop=StopAfter(1),
            )
    # Three chunks; which one was sent first is up to the threads when there are several.
    assert len(results) == 3
    assert [n for r in results for n in r.items] == names
    (sent,) = [r for r in results if not r.is_unsent]
    assert sb.log.count("core_user_get_users_by_field") == 1
    assert [u["username"] for u in sent.result] == sent.items
    assert all(r.result is None and r.error is None for r in results if r.is_unsent)


def test_a_call_over_max_input_vars_is_refused_before_sending() -> None:
    with Sandbox.start(max_input_vars=50) as sb, make_client(sb, max_input_vars=50) as client:
        with pytest.raises(InvalidParameterError, match="max_input_vars"):
            client.call(
                "core_user_get_users_by_field",
                {"field": "id", "values": list(range(46))},
                retry_safe=True,
            )
        assert sb.log.count("core_user_get_users_by_field") == 0


def test_a_failed_chunk_is_reported_with_its_items_and_others_complete() -> None:
    with Sandbox.start(max_input_vars=14) as sb:
        ids = [sb.store.add_cohort(f"c{i}", f"C{i}") for i in range(20)]
        ids[13] = 999999  # a missing cohort fails its whole call
        with make_client(sb, max_input_vars=14) as client:
            results = client.call_chunked(
                "core_cohort_get_cohort_members", "cohortids", ids, retry_safe=True
            )
    # 2 calls of 10 are needed; 3 even ones keep the 3 calls in flight busy.
    assert [len(r.items) for r in results] == [7, 7, 6]
    assert results[0].error is None and len(results[0].result) == 7
    assert isinstance(results[1].error, MissingRecordError)
    assert results[1].items == ids[7:14]
    assert results[1].result is None
    assert results[2].error is None and len(results[2].result) == 6


def test_map_concurrent_keeps_order_and_raises_the_first_error(sb: Sandbox) -> None:
    with make_client(sb) as client:
        assert client.map_concurrent(lambda x: x * 2, range(10)) == list(range(0, 20, 2))

        def boom(x: int) -> int:
            if x in (3, 7):
                raise ValueError(x)
            return x

        with pytest.raises(ValueError, match="3"):
            client.map_concurrent(boom, range(10))


def test_map_concurrent_runs_exactly_parallelism_at_once(sb: Sandbox) -> None:
    parallelism = 3
    barrier = threading.Barrier(parallelism, timeout=10)
    lock = threading.Lock()
    running = peak = 0

    def task(x: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        barrier.wait()  # breaks (and fails the test) unless `parallelism` run together
        with lock:
            running -= 1
        return x

    with make_client(sb, parallelism=parallelism) as client:
        assert client.map_concurrent(task, range(9)) == list(range(9))
    assert peak == parallelism
