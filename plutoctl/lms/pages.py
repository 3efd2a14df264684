"""Read a listing a page at a time: the one paging helper, and the paged reads built on it.

Moodle's listings give no total count, so a listing ends at its first short page.
``read_pages`` keeps ``wave`` pages in flight to the end (one at a time with a wave
of 1) and stops at the first short or failed page; the user listing of the site
course, the enrolments of each course, the cohort search of the reader and the
re-read after a failed create all page through it.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import TypeVar, cast

from plutoctl.errors import AccessDeniedError, LmsError, PermissionDeniedError
from plutoctl.lms.answers import SEARCH_ANSWER, Answer, Cohort, SearchAnswer
from plutoctl.lms.client import SiteClient
from plutoctl.lms.found import reason
from plutoctl.lms.functions import ENROLLED_USERS, SEARCH_COHORTS
from plutoctl.lms.responses import AnswerShapeError, validate_answer

Row = TypeVar("Row")

COHORT_PAGE = 1000
SYSTEM_CONTEXT = {"contextlevel": "system", "instanceid": 0}


def read_pages(
    page: Callable[[int], list[Row] | LmsError],
    size: int,
    wave: int,
    what: str,
    *,
    key: Callable[[Row], int] | None = None,
    limit: int | None = None,
) -> tuple[list[Row], str | None]:
    """Fetch pages, ``wave`` in flight at all times, until one comes back short.

    ``page(index)`` returns a page's rows, or the error that failed it (the rows read
    before it are kept, and the reason returned), or raises to end the whole read.
    A new page is asked for as soon as one is answered (not wave by wave), so the
    site serves ``wave`` calls to the end. The answer has no total count, so up to
    ``wave`` empty pages past the end are fetched; each costs one call's fixed time.
    ``key``: rows repeated across pages (the listing moved meanwhile) are kept once.
    ``limit``: ask for no more pages than this.
    """
    results: dict[int, list[Row] | LmsError] = {}
    end: int | None = None  # the first short or failed page
    # One page more than the calls in flight: it waits for the client's next free slot
    # while an answer is decoded, so the site is never left with a stream idle.
    tasks = wave + 1 if wave > 1 else 1
    if limit is not None:
        tasks = min(tasks, limit)
    with ThreadPoolExecutor(tasks, thread_name_prefix="plutoctl-page") as pool:
        pending = {pool.submit(page, index): index for index in range(tasks)}
        following = len(pending)
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                index = pending.pop(future)
                result = results[index] = future.result()  # fatal errors propagate
                if isinstance(result, LmsError) or len(result) < size:
                    end = index if end is None else min(end, index)
            while end is None and len(pending) < tasks and (limit is None or following < limit):
                pending[pool.submit(page, following)] = following
                following += 1
    rows: list[Row] = []
    for index in range(following if end is None else end + 1):
        result = results[index]
        if isinstance(result, LmsError):
            return _unique(rows, key), reason(f"{what}, page {index + 1}", result)
        rows.extend(result)
    return _unique(rows, key), None


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


def enrolled_pages(
    client: SiteClient,
    course_id: int,
    userfields: str,
    adapter: Answer[list[Row]],
    *,
    size: int,
    wave: int,
    key: Callable[[Row], int],
) -> tuple[list[Row], str | None]:
    """Page through a course's enrolled users with ``userfields``, ``wave`` pages at a time.

    Returns the users and, if a page failed, the reason (the rest is unknown). Access
    refused and answers of the wrong shape raise: they are not a partial read, and
    the caller may fall back to another function or report the course.
    """

    def page(index: int) -> list[Row] | LmsError:
        options = [
            {"name": "userfields", "value": userfields},
            {"name": "limitfrom", "value": index * size},
            {"name": "limitnumber", "value": size},
        ]
        params = {"courseid": course_id, "options": options}
        try:
            answer = client.read(ENROLLED_USERS, params, adapter)
        except (AccessDeniedError, PermissionDeniedError, AnswerShapeError):
            raise
        except LmsError as exc:
            return exc
        return cast(list[Row], answer)

    return read_pages(page, size, wave, f"users of course id {course_id}", key=key)


def search_cohorts(
    client: SiteClient,
    query: str,
    includes: str,
    *,
    size: int = COHORT_PAGE,
    limit: int | None = None,
    until: Callable[[Cohort], bool] | None = None,
) -> list[Cohort]:
    """Page through the cohort search from the system context, one page at a time.

    ``limitfrom`` is a page index here, not a row offset (docs/moodle.md, "Paging").
    Any failed page raises. ``until``: stop at the first cohort it holds for, and
    return only that one.
    """
    found: list[Cohort] = []

    def page(index: int) -> list[Cohort]:
        params = {
            "query": query,
            "context": dict(SYSTEM_CONTEXT),
            "includes": includes,
            "limitfrom": index,
            "limitnum": size,
        }
        raw = client.read(SEARCH_COHORTS, params)
        answer: SearchAnswer = validate_answer(
            SEARCH_ANSWER, raw, site=client.site, function=SEARCH_COHORTS
        )
        match = next((c for c in answer.cohorts if until(c)), None) if until else None
        if match is not None:
            found.append(match)
            return []  # a short page: no page after this one is asked for
        return answer.cohorts

    cohorts, _ = read_pages(page, size, 1, "the cohort search", limit=limit)
    return found if until is not None else cohorts
