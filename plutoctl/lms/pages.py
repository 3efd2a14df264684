"""The paged reads: the users of a course (the site course lists every user), its
count, and the cohort search.

Each pages through ``paging.read_pages``: the user listing of the site course, the
enrolments of each course, the cohort search of the reader and the re-read after a
failed create.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import cast

from plutoctl.errors import AccessDeniedError, LmsError, PermissionDeniedError
from plutoctl.lms.answers import SEARCH_ANSWER, USERS, Answer, Cohort, SearchAnswer, UserRow
from plutoctl.lms.client import SiteClient
from plutoctl.lms.functions import ENROLLED_USERS, SEARCH_COHORTS, is_worth_counting
from plutoctl.lms.paging import Row, read_pages
from plutoctl.lms.responses import AnswerShapeError, validate_answer

log = logging.getLogger(__name__)

COHORT_PAGE = 1000
SYSTEM_CONTEXT = {"contextlevel": "system", "instanceid": 0}

COUNT_SLACK = 50
"""Rows a listing's count may be over by: its last pages come back that much short."""
COUNT_CALLS = 8
"""At most this many calls narrow a count where ids are missing."""


def enrolled_pages(
    client: SiteClient,
    course_id: int,
    userfields: str,
    adapter: Answer[list[Row]],
    *,
    size: int,
    wave: int,
    key: Callable[[Row], int],
    what: str,
) -> tuple[list[Row], str | None]:
    """Page through a course's enrolled users with ``userfields``, ``wave`` pages at a time.

    ``what`` names the listing in the reason a page failed (``enrolments of course X``).

    Returns the users and, if a page failed, the reason (the rest is unknown). Access
    refused and answers of the wrong shape raise: they are not a partial read, and
    the caller may fall back to another function or report the course. A listing
    whose pages are worth it (``is_worth_counting``) is counted as it goes
    (``listed_count``), and read to its end in even pages.
    """

    def page(first: int, rows: int) -> list[Row] | LmsError:
        options = [
            {"name": "userfields", "value": userfields},
            {"name": "limitfrom", "value": first},
            {"name": "limitnumber", "value": rows},
        ]
        params = {"courseid": course_id, "options": options}
        try:
            answer = client.read(ENROLLED_USERS, params, adapter)
        except (AccessDeniedError, PermissionDeniedError, AnswerShapeError):
            raise
        except LmsError as exc:
            return exc
        return cast(list[Row], answer)

    def count(at_least: int, first: Row) -> int | None:
        return listed_count(client, course_id, at_least=at_least, first_id=key(first))

    fields = userfields.split(",")
    counted = count if is_worth_counting(fields, size, wave) else None
    return read_pages(page, size, wave, what, key=key, count=counted)


def listed_count(client: SiteClient, course_id: int, *, at_least: int, first_id: int) -> int | None:
    """Return how many users a course lists (or a little more), or None if a call failed.

    Moodle lists them in id order, so the highest id (one call of one user, sorted
    down) and the lowest, ``first_id``, bound the count: exactly where no id between
    them is missing, which one more call checks (the user at that row is the
    highest). Where ids are missing (deleted users), each further call halves what is
    left of the range, until it is within ``COUNT_SLACK`` rows or ``COUNT_CALLS`` were
    made, and the upper bound is returned. ``at_least``: rows known to be listed.
    """

    def user_at(row: int, *, descending: bool = False) -> int | None:
        options = [
            {"name": "userfields", "value": "id,username"},
            {"name": "limitfrom", "value": row},
            {"name": "limitnumber", "value": 1},
        ]
        if descending:
            options += [
                {"name": "sortby", "value": "id"},
                {"name": "sortdirection", "value": "DESC"},
            ]
        params = {"courseid": course_id, "options": options}
        users = cast(list[UserRow], client.read(ENROLLED_USERS, params, USERS))
        return users[0].id if users else None

    try:
        last = user_at(0, descending=True)
        if last is None or last - first_id + 1 <= at_least:
            return None  # the listing shrank meanwhile, or is not in id order
        low, high = at_least, last - first_id + 1  # the count is in [low, high]
        if user_at(high - 1) == last:
            return high
        high -= 1
        for _ in range(COUNT_CALLS):
            if high - low <= COUNT_SLACK:
                break
            middle = (low + high) // 2
            if user_at(middle) is None:
                high = middle
            else:
                low = middle + 1
    except LmsError as exc:
        log.debug("%s: counting the users of course id %d failed: %s", client.site, course_id, exc)
        return None
    return high


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

    def page(first: int, _rows: int) -> list[Cohort]:
        params = {
            "query": query,
            "context": dict(SYSTEM_CONTEXT),
            "includes": includes,
            "limitfrom": first // size,
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
