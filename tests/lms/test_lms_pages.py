"""Paging: a listing is read whole and once, in even pages once it is counted; the count
of a course's users from a few one-user calls."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plutoctl.errors import LmsError
from plutoctl.lms.client import RetryPolicy, SiteClient
from plutoctl.lms.pages import COUNT_CALLS, COUNT_SLACK, listed_count
from plutoctl.lms.paging import read_pages
from plutoctl.lms.reader import ReadScope, read_site
from plutoctl.sandbox import FieldSpec, Sandbox, generate

LISTING = "core_enrol_get_enrolled_users"
SITE_COURSE = 1


class Listing:
    """Rows 0..n-1 served a page at a time, recording every page asked for."""

    def __init__(self, rows: int) -> None:
        self.rows = list(range(rows))
        self.asked: list[tuple[int, int]] = []
        self.lock = threading.Lock()

    def page(self, first: int, rows: int) -> list[int] | LmsError:
        with self.lock:
            self.asked.append((first, rows))
            return self.rows[first : first + rows]

    def grow(self, more: int) -> None:
        with self.lock:
            self.rows += range(len(self.rows), len(self.rows) + more)


def counted(value: int | None, then: Callable[[], None] = lambda: None) -> Callable:
    def count(_at_least: int, _first: int) -> int | None:
        then()
        return value

    return count


@settings(max_examples=150, deadline=None)
@given(
    rows=st.integers(0, 2500),
    size=st.integers(1, 300),
    wave=st.integers(1, 4),
    off_by=st.none() | st.integers(-2 * COUNT_SLACK, 2 * COUNT_SLACK),
)
def test_a_listing_is_read_whole_and_once_whatever_its_count_says(
    rows: int, size: int, wave: int, off_by: int | None
) -> None:
    listing = Listing(rows)
    count = counted(None if off_by is None else max(0, rows + off_by))
    got, failure = read_pages(listing.page, size, wave, "rows", key=int, count=count)
    assert failure is None
    assert got == listing.rows
    # Pages follow one another: no row is skipped between two pages.
    asked = sorted(listing.asked)
    assert asked[0][0] == 0
    for (first, length), (following, _) in pairwise(asked):
        assert following == first + length


def test_once_counted_the_rest_is_read_in_even_pages_and_a_last_one_a_stream() -> None:
    listing = Listing(20_052)
    read_pages(listing.page, 1000, 3, "rows", key=int, count=counted(20_052))
    asked = sorted(listing.asked)
    assert len(asked) % 3 == 0  # the streams take as many pages each
    *before, (last_first, last_rows) = asked
    assert last_rows >= 1000  # the last page is open: rows added meanwhile come with it
    assert last_first < 20_052  # and no page is asked for past the end
    even = [rows for _, rows in before[:-2] if rows != 1000]
    assert even, "no even pages after the count"
    assert max(even) - min(even) <= 1
    # The streams' last pages are sized by the time rows took: the two sized within a
    # half and twice an even page, the last one the rest.
    assert all(min(even) / 2 - 1 <= rows <= 2 * max(even) + 1 for _, rows in before[-2:])


def test_pages_that_take_time_are_still_read_whole_and_once() -> None:
    # Each page takes time by its rows, and the first stream's first page more (as a
    # stream that also served another call): the last pages are sized by the clock.
    listing = Listing(12_345)
    started = threading.Event()

    def page(first: int, rows: int) -> list[int] | LmsError:
        time.sleep(rows * 0.00002 + (0.01 if not started.is_set() else 0.0))
        started.set()
        return listing.page(first, rows)

    got, failure = read_pages(page, 1000, 3, "rows", key=int, count=counted(12_345))
    assert failure is None
    assert got == listing.rows
    assert sum(1 for first, _ in listing.asked if first >= 12_345) == 0


def test_no_page_is_asked_for_past_the_first_ones_until_the_first_is_back() -> None:
    """The count starts once the first page is back; the later pages answering first
    (a site serving them out of order) asked for more pages meanwhile, uncounted."""
    listing = Listing(5_000)
    first_back = threading.Event()
    early: list[int] = []

    def page(first: int, rows: int) -> list[int] | LmsError:
        if first == 0:
            time.sleep(0.3)  # the others are answered meanwhile
            first_back.set()
        elif not first_back.is_set():
            early.append(first)
        return listing.page(first, rows)

    got, failure = read_pages(page, 1000, 3, "rows", key=int, count=counted(5_000))
    assert failure is None
    assert got == listing.rows
    assert sorted(early) == [1000, 2000, 3000]  # the first wave and one, no more


def test_a_count_reached_by_the_pages_asked_for_asks_for_no_more() -> None:
    """The first wave and one (4,000 rows) hold the 2,502 counted: while the last pages
    were slow to answer, the count came back and two more pages past the end were asked
    for (a busy machine's plan made 8 calls where 6 do)."""
    listing = Listing(2_502)

    def page(first: int, rows: int) -> list[int] | LmsError:
        if first >= 2_000:
            time.sleep(0.2)  # the short page and the one past it: the count is back first
        return listing.page(first, rows)

    got, failure = read_pages(page, 1000, 3, "rows", key=int, count=counted(2_502))
    assert failure is None
    assert got == listing.rows
    assert sorted(first for first, _ in listing.asked) == [0, 1000, 2000, 3000]


@pytest.mark.parametrize("added", [7, 999, 2500])
def test_rows_added_after_the_count_are_read_too(added: int) -> None:
    listing = Listing(10_000)
    count = counted(10_000, then=lambda: listing.grow(added))
    got, failure = read_pages(listing.page, 1000, 3, "rows", key=int, count=count)
    assert failure is None
    assert got == list(range(10_000 + added))


def test_a_failed_page_keeps_the_rows_before_it_and_says_which_page() -> None:
    listing = Listing(9_000)

    def page(first: int, rows: int) -> list[int] | LmsError:
        if first == 3000:
            return LmsError("the site is busy", site="lab", errorcode="dbbusy")
        return listing.page(first, rows)

    got, failure = read_pages(page, 1000, 3, "rows", key=int, count=counted(9_000))
    assert got == list(range(3000))
    assert failure is not None and "rows, page 4" in failure


# --- the count, over HTTP ----------------------------------------------------------------


@pytest.fixture
def site() -> Iterator[Sandbox]:
    with Sandbox.start() as sb:
        generate(sb.store, users=2_500, courses=0, fields=[FieldSpec("region", "text")])
        yield sb


def client_for(sb: Sandbox) -> SiteClient:
    return SiteClient(site="lab", url=sb.url, token=sb.token, retry=RetryPolicy(attempts=1))


def first_listed(client: SiteClient) -> int:
    options = [{"name": "userfields", "value": "id"}, {"name": "limitnumber", "value": 1}]
    return int(client.read(LISTING, {"courseid": SITE_COURSE, "options": options})[0]["id"])


def test_the_count_of_a_site_without_gaps_takes_two_calls(site: Sandbox) -> None:
    with client_for(site) as client:
        first = first_listed(client)
        before = client.calls[LISTING]
        count = listed_count(client, SITE_COURSE, at_least=1000, first_id=first)
        assert client.calls[LISTING] - before == 2
    assert count == site.store.user_count()


def test_where_users_were_deleted_the_count_is_a_close_upper_bound(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    sb = make_sandbox()
    generate(sb.store, users=2_500, courses=0, fields=[])
    with sb.store.transaction() as db:  # deleted users leave gaps in the ids
        db.execute("UPDATE user SET deleted = 1 WHERE id % 7 = 0 AND username LIKE 'user%'")
    listed = sb.store.user_count()
    with client_for(sb) as client:
        first = first_listed(client)
        before = client.calls[LISTING]
        count = listed_count(client, SITE_COURSE, at_least=1000, first_id=first)
        calls = client.calls[LISTING] - before
    assert count is not None
    assert listed <= count <= listed + COUNT_SLACK
    assert calls <= 2 + COUNT_CALLS


def test_a_count_that_fails_is_none_not_an_error(make_sandbox: Callable[..., Sandbox]) -> None:
    sb = make_sandbox()
    generate(sb.store, users=50, courses=0, fields=[])
    with client_for(sb) as client:
        first = first_listed(client)
        sb.faults.inject(kind="status", status=503, rate=1.0, function=LISTING)
        assert listed_count(client, SITE_COURSE, at_least=10, first_id=first) is None


@pytest.mark.parametrize("page_size", [250, 1000])
def test_a_counted_listing_reads_every_user_of_the_site_once(site: Sandbox, page_size: int) -> None:
    scope = ReadScope(needs_all_users=True, needs_custom_fields=True, page_size=page_size)
    with client_for(site) as client:
        existing = read_site(client, scope)
        calls = client.calls[LISTING]
    assert existing.is_complete and existing.has_all_users
    assert len(existing.users) == site.store.user_count() - 1  # the guest is listed, not kept
    pages = -(-site.store.user_count() // page_size)
    # The count's two calls, the pages, and no page past the end but the open last one's
    # slack: at most the pages of a multiple of the three streams.
    assert calls <= 2 + pages + 2
