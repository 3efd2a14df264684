"""Chunks are spread evenly over the calls in flight, so the streams finish together."""

from __future__ import annotations

from plutoctl.lms.functions import (
    balanced_calls,
    balanced_sizes,
    calls_needed,
    chunk_sizes,
    is_worth_spreading,
)


def test_many_calls_become_a_multiple_of_the_streams_of_even_size() -> None:
    # 12,832 cohort members of 4 variables under max_input_vars 5000: 11 greedy calls
    # (10 full, one of 342) would leave the last ones running alone.
    items = [4] * 12_832
    assert len(chunk_sizes(items, 4996)) == 11
    sizes = balanced_sizes(items, 4996, 3)
    assert len(sizes) == 12
    assert sum(sizes) == 12_832
    assert max(sizes) - min(sizes) <= 1
    assert max(sizes) * 4 <= 4996
    assert balanced_calls("core_cohort_add_cohort_members", 12_832, 5000, 3) == 12


def test_one_call_or_one_stream_stays_as_it_was() -> None:
    assert balanced_sizes([4] * 10, 4996, 3) == [10]
    assert balanced_sizes([4] * 2000, 4996, 1) == chunk_sizes([4] * 2000, 4996)
    assert balanced_calls("core_cohort_add_cohort_members", 10, 5000, 3) == 1
    assert balanced_calls("core_cohort_add_cohort_members", 2000, 5000, 1) == calls_needed(
        "core_cohort_add_cohort_members", 2000, 5000
    )


def test_never_more_calls_than_items() -> None:
    assert balanced_sizes([3, 3], 4, 3) == [1, 1]
    assert balanced_calls("enrol_manual_enrol_users", 2, 7, 3) == 2


def test_uneven_items_keep_the_greedy_runs_when_even_ones_would_not_fit() -> None:
    items = [1, 1, 1, 1, 9, 9]
    sizes = balanced_sizes(items, 10, 2)
    start = 0
    for size in sizes:
        assert sum(items[start : start + size]) <= 10
        start += size
    assert sum(sizes) == len(items)


def test_spread_reads_use_every_stream_even_when_one_call_would_do() -> None:
    assert balanced_sizes([1] * 3, 4996, 3) == [3]
    assert balanced_sizes([1] * 3, 4996, 3, spread=True) == [1, 1, 1]
    assert balanced_sizes([1] * 7, 4996, 3, spread=True) == [3, 2, 2]
    assert balanced_sizes([1], 4996, 3, spread=True) == [1]
    assert balanced_sizes([1] * 2, 4996, 3, spread=True) == [1, 1]


def test_one_call_that_would_take_long_goes_over_every_stream() -> None:
    # 1,000 enrolments fit one call at 5,000 variables: 5.1 s on one stream, under 2 s
    # over three.
    assert is_worth_spreading("enrol_manual_enrol_users", 1000, 3)
    assert balanced_calls("enrol_manual_enrol_users", 1000, 5000, 3) == 3
    # 20 enrolments: a tenth of a second; two more calls are not worth a site's time.
    assert not is_worth_spreading("enrol_manual_enrol_users", 20, 3)
    assert balanced_calls("enrol_manual_enrol_users", 20, 5000, 3) == 1
    # One stream, or one item: nothing to spread over.
    assert balanced_calls("enrol_manual_enrol_users", 1000, 5000, 1) == 1
    assert not is_worth_spreading("core_cohort_create_cohorts", 1, 3)


def test_the_break_even_follows_each_functions_cost() -> None:
    def least(name: str) -> int:
        return next(n for n in range(1, 10_000) if is_worth_spreading(name, n, 3))

    # Segment members cost 2.0 ms each, enrolments 5.1 ms: fewer are worth spreading.
    assert least("enrol_manual_enrol_users") < least("core_cohort_add_cohort_members")
    assert 100 < least("enrol_manual_enrol_users") < least("core_cohort_add_cohort_members") < 1000
