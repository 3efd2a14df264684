"""Read a listing a page at a time: the one paging engine the paged reads share.

Moodle's listings give no total count, so a listing ends at its first short page.
``read_pages`` keeps ``wave`` pages in flight to the end (one at a time with a wave
of 1) and stops at the first short or failed page. Given a way to count the listing,
it reads the rest in even pages once the first one came back full, and sizes each
stream's last page so that the streams end together (docs/lms.md, "Counting a
listing"). The paged reads are in ``pages.py``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar, cast

from plutoctl.errors import LmsError
from plutoctl.lms.found import reason

Row = TypeVar("Row")


class _Pages:
    """Which rows each page asks for: pages of ``size``, then, once the listing's count
    is known, even pages to its end, as many in all as a multiple of the wave; the
    last page of each stream sized as it is asked for (``_Ends``), so that the
    streams end together."""

    def __init__(self, size: int, wave: int, limit: int | None) -> None:
        self.size = size
        self.wave = wave
        self.limit = limit
        self.offset = 0  # the first row of the next page
        self.issued = 0  # pages asked for so far
        self.even: deque[int] = deque()  # the rows of each even page still to ask for
        self.last_pages = 0  # the streams' last pages still to ask for
        self.last_rows = 0  # the rows they hold between them
        self.last: int | None = None  # the very last page: none after it unless it is full

    @property
    def is_ending(self) -> bool:
        """Whether the next page is one of the streams' last pages."""
        return not self.even and self.last_pages > 0

    def next(self, share: Callable[[int, int], int]) -> tuple[int, int, int] | None:
        """Return the next page's (index, first row, rows), or None if there is none yet.

        ``share(pages, rows)``: the rows of the next of the streams' last ``pages``
        pages, which hold ``rows`` between them.
        """
        if self.limit is not None and self.issued >= self.limit:
            return None
        if self.last is not None and self.issued > self.last:
            return None
        if self.even:
            rows = self.even.popleft()
        elif self.last_pages:
            rows = self._last_page(share)
        else:
            rows = self.size
        page = (self.issued, self.offset, rows)
        self.issued += 1
        self.offset += rows
        return page

    def _last_page(self, share: Callable[[int, int], int]) -> int:
        if self.last_pages == 1:
            rows = self.last_rows
            # The very last page asks for a whole page at least: rows added meanwhile
            # come with it, and only if it comes back full (``go_on``) does the
            # listing go on, in pages of ``size``.
            asked = max(rows, self.size)
        else:
            # Timing steers a last page by a few tens of rows: never past half or
            # twice an even one, whatever the clock said.
            even = self.last_rows / self.last_pages
            wanted = min(max(share(self.last_pages, self.last_rows), even / 2), even * 2)
            rows = asked = min(max(1, round(wanted)), self.last_rows - (self.last_pages - 1))
        self.last_pages -= 1
        self.last_rows -= rows
        return asked

    def even_out(self, count: int) -> None:
        """Split the rows from the next page to ``count`` into even pages.

        The pages asked for before and these come to a multiple of the wave, so that
        the streams, each taking the next page as it is free, end together; the last
        page of each stream is sized when it is asked for (``next``).
        """
        rest = count - self.offset
        if rest <= 0:
            # Every page is asked for already: none after them, unless the last of them
            # comes back full (``go_on``), as any last page.
            self.last = self.issued - 1
            return
        pages = -(-rest // self.size)
        pages = min(rest, pages + (-(self.issued + pages) % self.wave))
        rows, longer = divmod(rest, pages)
        sizes = [rows + 1] * longer + [rows] * (pages - longer)
        self.last_pages = min(self.wave, pages)
        self.last_rows = sum(sizes[-self.last_pages :])
        self.even = deque(sizes[: -self.last_pages])
        self.last = self.issued + pages - 1

    def go_on(self) -> None:
        """Go on past the last page, which came back full: rows were added."""
        self.last = None


class _Ends:
    """When each stream will be free, from when pages came back, to size the streams'
    last pages so that they end together.

    A stream takes its next page as soon as one comes back, so each stream's pages
    come back ``wave`` answers apart: the time a page took is the gap between an
    answer and the one ``wave`` before it. When a stream takes its last page, the
    streams still to take theirs are free now too (answered at the same time) or busy
    with a page they took when their last one came back; each last page gets the rows
    that, at the time a row has taken so far, make it end when the others' do.
    """

    RECENT = 6
    """The latest pages whose time per row is taken (the median of them)."""

    def __init__(self, wave: int) -> None:
        self.wave = wave
        self.answers: list[tuple[float, int]] = []  # when each page came back, its rows
        self.fresh = 0  # streams answered at once, the latest time pages came back
        self.given = 0  # of those, the ones given their last page since
        self.busy: list[float] | None = None  # when the streams still busy took a page

    def answered(self, rows: list[int]) -> None:
        """Note that pages of these ``rows`` came back now, at once."""
        now = time.perf_counter()
        self.answers += [(now, n) for n in rows]
        self.fresh, self.given = len(rows), 0
        if self.busy:
            del self.busy[: len(rows)]  # free now: they were busy the longest

    def share(self, pages: int, rows: int) -> int:
        """Return the rows of the next of the streams' last ``pages`` pages, taken now."""
        now = time.perf_counter()
        times = [t for t, _ in self.answers]
        if self.busy is None:
            before = times[: len(times) - self.fresh]
            self.busy = sorted(before[len(before) - max(0, self.wave - self.fresh) :])
        free_now = max(1, self.fresh - self.given)
        self.given += 1
        per_row = sorted(
            (times[i] - times[i - self.wave]) / max(1, self.answers[i][1])
            for i in range(max(self.wave, len(times) - self.RECENT), len(times))
        )
        if not per_row:
            return rows // pages
        row_time = per_row[len(per_row) // 2]
        page_time = row_time * rows / pages
        free = [now] * free_now + [t + page_time for t in self.busy]
        free = free[:pages]
        end = (sum(free) + rows * row_time) / len(free)
        return round((end - now) / row_time)


def read_pages(
    page: Callable[[int, int], list[Row] | LmsError],
    size: int,
    wave: int,
    what: str,
    *,
    key: Callable[[Row], int] | None = None,
    limit: int | None = None,
    count: Callable[[int, Row], int | None] | None = None,
) -> tuple[list[Row], str | None]:
    """Fetch pages, ``wave`` in flight at all times, until one comes back short.

    ``page(first, rows)`` returns the page of ``rows`` rows from row ``first``, or the
    error that failed it (the rows read before it are kept, and the reason returned),
    or raises to end the whole read. A new page is asked for as soon as one is
    answered (not wave by wave), so the site serves ``wave`` calls to the end. The
    answer has no total count, so up to ``wave`` empty pages past the end are fetched;
    each costs one call's fixed time.

    ``count(at_least, first_row)``: how many rows the listing holds (or None), asked on
    one stream once the first page came back full. The rest is then read in even
    pages (``_Pages.even_out``), so that the streams end together rather than one by
    one, with no page past the end. ``key``: rows repeated across pages (the listing
    moved meanwhile) are kept once. ``limit``: ask for no more pages than this.
    """
    pages = _Pages(size, wave, limit)
    ends = _Ends(wave)
    results: dict[int, list[Row] | LmsError] = {}
    end: int | None = None  # the first short or failed page
    # One page more than the calls in flight: it waits for the client's next free slot
    # while an answer is decoded, so the site is never left with a stream idle.
    tasks = wave + 1 if wave > 1 else 1
    if limit is not None:
        tasks = min(tasks, limit)
    counting = count if wave > 1 else None
    counted: Future[int | None] | None = None
    with ThreadPoolExecutor(tasks + 1, thread_name_prefix="plutoctl-page") as pool:
        pending: dict[Future[list[Row] | LmsError], tuple[int, int, int]] = {}

        def ask() -> None:
            if counting and 0 not in results and pages.issued >= tasks:
                # The count starts once the first page is back: until then no more
                # pages than the first tasks', however early the later ones answer.
                return
            room = wave - 1 if counted else tasks  # while counting, a stream is the count's
            if pages.is_ending:
                room = min(room, wave)  # a stream's last page starts as it is asked for
            while end is None and len(pending) < room and (next_page := pages.next(ends.share)):
                pending[pool.submit(page, next_page[1], next_page[2])] = next_page

        ask()
        while pending or counted:
            waiting: list[Future[Any]] = [*pending, *([counted] if counted else [])]
            done, _ = wait(waiting, return_when=FIRST_COMPLETED)
            if counted in done:
                total, counted = counted.result(), None
                if total is not None:
                    pages.even_out(total)
            answered = [future for future in done if future in pending]
            ends.answered([pending[future][2] for future in answered])
            for future in answered:
                index, _, rows = pending.pop(future)
                result = results[index] = future.result()  # fatal errors propagate
                if isinstance(result, LmsError) or len(result) < rows:
                    end = index if end is None else min(end, index)
                elif index == pages.last:
                    pages.go_on()
            if counting and end is None and 0 in results:
                first = cast(list[Row], results[0])[0]
                counted, counting = pool.submit(counting, size, first), None
            ask()
    rows_read: list[Row] = []
    for index in range(pages.issued if end is None else end + 1):
        result = results[index]
        if isinstance(result, LmsError):
            return _unique(rows_read, key), reason(f"{what}, page {index + 1}", result)
        rows_read.extend(result)
    return _unique(rows_read, key), None


def _unique(rows: list[Row], key: Callable[[Row], int] | None) -> list[Row]:
    if key is None:
        return rows
    keys = list(map(key, rows))
    if len(set(keys)) == len(keys):
        return rows  # no repeats, the usual case: the loop below keeps every row in order
    seen: dict[int, Row] = {}
    for row in rows:
        seen.setdefault(key(row), row)
    return list(seen.values())
