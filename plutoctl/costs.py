"""What each web-service call costs a typical Moodle site: the one table plutoctl chooses by.

Figures from measurements of a Moodle 4.5 site (docs/lms.md, "What calls cost"): a
fixed cost per call and a cost per item, for one stream of calls. Listings of users
cost more per user for each field asked for. A site serves a few calls at once:
``speedup(k)`` is the throughput of ``k`` calls in flight against one stream.

Pure data and arithmetic: the reader picks the cheapest way to learn user ids by it,
the planner estimates how long an apply takes by it, and the sandbox's cost model
(``plutoctl sandbox serve --cost-model moodle``) delays its answers by it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

FIXED_MS = 27.0
"""The fixed cost of any call (request, bootstrap, response): 20–35 ms measured."""

BEST_STREAMS = 3
"""Calls in flight that give a site its best throughput (2–4; more give nothing)."""

_SPEEDUP = (0.0, 1.0, 2.0, 2.65, 2.8)


def speedup(in_flight: int) -> float:
    """Return the throughput of ``in_flight`` concurrent calls against one stream."""
    if in_flight <= 0:
        return 0.0
    return _SPEEDUP[min(in_flight, len(_SPEEDUP) - 1)]


@dataclass(frozen=True)
class FunctionCost:
    """One function's cost on one stream: ``fixed_ms`` per call, ``item_ms`` per item.

    An item is what the function's cost grows with: a user listed or looked up, a
    member read or written, a cohort or group created.
    """

    fixed_ms: float = FIXED_MS
    item_ms: float = 0.0


ENROLLED_USERS = "core_enrol_get_enrolled_users"
USERS_BY_FIELD = "core_user_get_users_by_field"

COSTS: Mapping[str, FunctionCost] = {
    # reads
    "core_webservice_get_site_info": FunctionCost(33.0),
    ENROLLED_USERS: FunctionCost(item_ms=0.32),  # plus LISTED_FIELD_MS per field asked for
    USERS_BY_FIELD: FunctionCost(item_ms=3.2),  # builds the full user record
    "core_user_get_users": FunctionCost(37.0, 3.2),
    "core_cohort_get_cohorts": FunctionCost(item_ms=0.05),
    "core_cohort_search_cohorts": FunctionCost(item_ms=0.05),
    "core_cohort_get_cohort_members": FunctionCost(item_ms=0.03),
    "core_group_get_group_members": FunctionCost(item_ms=0.03),
    "core_group_get_course_groups": FunctionCost(19.0),
    "core_course_get_courses_by_field": FunctionCost(),
    # writes, as a durable production database commits them
    "core_cohort_add_cohort_members": FunctionCost(item_ms=2.0),
    "core_cohort_delete_cohort_members": FunctionCost(item_ms=1.2),
    "enrol_manual_enrol_users": FunctionCost(item_ms=5.1),
    "enrol_manual_unenrol_users": FunctionCost(item_ms=5.5),
    "core_group_add_group_members": FunctionCost(item_ms=6.1),
    "core_group_delete_group_members": FunctionCost(item_ms=4.5),
    "core_cohort_create_cohorts": FunctionCost(item_ms=5.0),
    "core_cohort_update_cohorts": FunctionCost(item_ms=5.0),
    "core_cohort_delete_cohorts": FunctionCost(item_ms=5.0),
    "core_group_create_groups": FunctionCost(item_ms=5.0),
    "core_group_update_groups": FunctionCost(item_ms=5.0),
    "core_group_delete_groups": FunctionCost(item_ms=5.0),
}
"""Every function plutoctl calls; one not listed costs ``FunctionCost()``."""

LISTED_FIELD_MS: Mapping[str, float] = {
    "id": 0.0,
    "username": 0.0,
    "customfields": 0.52,
    "roles": 0.35,
    "groups": 0.32,
}
"""Extra cost per user listed of each field asked for; any other standard field
(firstname, email, suspended, ...) costs ``STANDARD_FIELD_MS``."""

STANDARD_FIELD_MS = 0.216

BULK_TOOL_MS = 3.4
"""Moodle's own bulk upload tool (admin/tool/uploaduser): per segment member added."""


def cost_of(function: str) -> FunctionCost:
    """Return ``function``'s cost (the default fixed cost for one not in the table)."""
    return COSTS.get(function, FunctionCost())


def listed_user_ms(fields: Iterable[str]) -> float:
    """Return the cost per user of listing users with these ``userfields``."""
    extra = sum(LISTED_FIELD_MS.get(name, STANDARD_FIELD_MS) for name in set(fields))
    return cost_of(ENROLLED_USERS).item_ms + extra


def call_seconds(function: str, items: int, *, fields: Iterable[str] = ()) -> float:
    """Return one stream's server time for one call of ``function`` with ``items``."""
    cost = cost_of(function)
    per_item = listed_user_ms(fields) if function == ENROLLED_USERS else cost.item_ms
    return (cost.fixed_ms + per_item * items) / 1000


def calls_seconds(function: str, calls: int, items: int, *, streams: int = BEST_STREAMS) -> float:
    """Return the server time of ``calls`` calls carrying ``items`` in all, ``streams`` at once."""
    cost = cost_of(function)
    return (cost.fixed_ms * calls + cost.item_ms * items) / 1000 / speedup(streams)


def listing_seconds(users: int, fields: Iterable[str], *, page: int, streams: int) -> float:
    """Return the server time of listing ``users`` users in pages of ``page``."""
    pages = max(1, math.ceil(users / page))
    one_stream = (FIXED_MS * pages + listed_user_ms(fields) * users) / 1000
    return one_stream / speedup(min(streams, pages))


LOOKUP_MS = cost_of(USERS_BY_FIELD).item_ms
LISTING_MS = listed_user_ms(("id", "username"))


def is_listing_cheaper(
    asked: int, site_users: int, fields: Iterable[str] = ("id", "username")
) -> bool:
    """Return whether listing every user (with ``fields``) beats looking ``asked`` up.

    With ``id,username``, past about one user in ten of the site's, the listing costs
    less; with custom fields too, past about one in four.
    """
    return listed_user_ms(fields) * site_users < LOOKUP_MS * asked


def break_even_users(asked: int, fields: Iterable[str] = ("id", "username")) -> int:
    """Return the most users a site can have for the listing to beat ``asked`` lookups."""
    return math.floor(LOOKUP_MS * asked / listed_user_ms(fields))
