"""Every Moodle web-service function plutoctl calls, and what is known of each.

The one registry: a function's name, whether it reads or writes, the list parameter
its items go under and how many request variables each item takes, whether a failed
call keeps nothing (so a rejected batch may be bisected), whether it may be repeated,
and what it costs a typical site. The client batches by it, the reader and the writer
choose calls by it, the planner estimates apply's calls and time by it, and the
sandbox's cost model (``plutoctl sandbox serve --cost-model moodle``) delays its
answers by it.

Pure data and arithmetic: ``plan`` and ``sandbox`` import this module and nothing
else of ``lms``, so it imports no transport and no answer models (those are in
``lms/answers.py``, keyed by the names here). The facts: docs/moodle.md ("Limits"
for ``max_input_vars``, "All-or-nothing batches", "The functions plutoctl calls");
the figures: docs/lms.md ("What calls cost").
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

# --- names ---------------------------------------------------------------------------

SITE_INFO = "core_webservice_get_site_info"
GET_COHORTS = "core_cohort_get_cohorts"
SEARCH_COHORTS = "core_cohort_search_cohorts"
GET_COHORT_MEMBERS = "core_cohort_get_cohort_members"
USERS_BY_FIELD = "core_user_get_users_by_field"
ENROLLED_USERS = "core_enrol_get_enrolled_users"
GET_USERS = "core_user_get_users"
COURSES_BY_FIELD = "core_course_get_courses_by_field"
COURSE_GROUPS = "core_group_get_course_groups"
GET_GROUP_MEMBERS = "core_group_get_group_members"

CREATE_COHORTS = "core_cohort_create_cohorts"
UPDATE_COHORTS = "core_cohort_update_cohorts"
DELETE_COHORTS = "core_cohort_delete_cohorts"
ADD_COHORT_MEMBERS = "core_cohort_add_cohort_members"
DELETE_COHORT_MEMBERS = "core_cohort_delete_cohort_members"
CREATE_GROUPS = "core_group_create_groups"
UPDATE_GROUPS = "core_group_update_groups"
DELETE_GROUPS = "core_group_delete_groups"
ADD_GROUP_MEMBERS = "core_group_add_group_members"
DELETE_GROUP_MEMBERS = "core_group_delete_group_members"
ENROL_USERS = "enrol_manual_enrol_users"
UNENROL_USERS = "enrol_manual_unenrol_users"

# --- costs ---------------------------------------------------------------------------

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


# --- the registry --------------------------------------------------------------------

RESERVED_VARS = 4
"""Request variables every call sends: wstoken, wsfunction, moodlewsrestformat,
moodlewssettingraw. PHP drops variables past ``max_input_vars`` silently, so every
batch is sized exactly."""


@dataclass(frozen=True)
class WsFunction:
    """One web-service function and what plutoctl relies on about it.

    ``list_key``: the list parameter a batch's items go under (None: not batched).
    ``vars_per_item``: request variables one item of that list takes once flattened;
    ``fixed_vars``: the function's own scalar parameters beside the list.
    ``is_retry_safe``: repeating a call whose answer was lost does no harm (false for
    creates and deletes, which are re-read instead). ``is_whole_call``: a failed call
    keeps nothing of any item, so a rejected batch may be split and sent again.
    ``has_item_warnings``: some item failures come back as warnings, the rest kept.
    """

    name: str
    is_write: bool
    cost: FunctionCost = FunctionCost()
    list_key: str | None = None
    vars_per_item: int = 1
    fixed_vars: int = 0
    is_retry_safe: bool = True
    is_whole_call: bool = False
    has_item_warnings: bool = False


def _read(
    name: str, cost: FunctionCost, list_key: str | None = None, *, fixed_vars: int = 0
) -> WsFunction:
    return WsFunction(name, is_write=False, cost=cost, list_key=list_key, fixed_vars=fixed_vars)


def _write(
    name: str, item_ms: float, list_key: str, vars_per_item: int, **facts: bool
) -> WsFunction:
    # Every write plutoctl sends runs in one database transaction on the site: a failed
    # call keeps nothing, whichever item caused it (docs/moodle.md, "All-or-nothing
    # batches"; tests/lms/test_lms_rollback.py checks it against recordings of a site).
    cost = FunctionCost(item_ms=item_ms)
    return WsFunction(name, True, cost, list_key, vars_per_item, is_whole_call=True, **facts)


_FUNCTIONS = (
    # reads
    _read(SITE_INFO, FunctionCost(33.0)),
    # plus LISTED_FIELD_MS per field asked for
    _read(ENROLLED_USERS, FunctionCost(item_ms=0.32)),
    # builds the full user record; values[i] plus the scalar ``field``
    _read(USERS_BY_FIELD, FunctionCost(item_ms=3.2), "values", fixed_vars=1),
    _read(GET_USERS, FunctionCost(37.0, 3.2)),
    _read(GET_COHORTS, FunctionCost(item_ms=0.05)),
    _read(SEARCH_COHORTS, FunctionCost(item_ms=0.05)),
    _read(GET_COHORT_MEMBERS, FunctionCost(item_ms=0.03), "cohortids"),
    _read(GET_GROUP_MEMBERS, FunctionCost(item_ms=0.03), "groupids"),
    _read(COURSE_GROUPS, FunctionCost(19.0)),
    _read(COURSES_BY_FIELD, FunctionCost()),
    # writes, as a durable production database commits them
    # cohorts[i][categorytype][type|value], [name], [idnumber], [description], [visible]
    _write(CREATE_COHORTS, 5.0, "cohorts", 6, is_retry_safe=False),
    # the same plus [id]
    _write(UPDATE_COHORTS, 5.0, "cohorts", 7),
    _write(DELETE_COHORTS, 5.0, "cohortids", 1, is_retry_safe=False),
    # members[i][cohorttype][type|value], members[i][usertype][type|value]; warns per
    # item (not found, already a member) and keeps the rest
    _write(ADD_COHORT_MEMBERS, 2.0, "members", 4, has_item_warnings=True),
    _write(DELETE_COHORT_MEMBERS, 1.2, "members", 2),
    # groups[i][courseid|name|description|idnumber]
    _write(CREATE_GROUPS, 5.0, "groups", 4, is_retry_safe=False),
    # groups[i][id|name|description|idnumber]
    _write(UPDATE_GROUPS, 5.0, "groups", 4),
    _write(DELETE_GROUPS, 5.0, "groupids", 1, is_retry_safe=False),
    _write(ADD_GROUP_MEMBERS, 6.1, "members", 2),
    _write(DELETE_GROUP_MEMBERS, 4.5, "members", 2),
    # enrolments[i][roleid|userid|courseid]
    _write(ENROL_USERS, 5.1, "enrolments", 3),
    # enrolments[i][userid|courseid]
    _write(UNENROL_USERS, 5.5, "enrolments", 2),
)

FUNCTIONS: Mapping[str, WsFunction] = MappingProxyType({f.name: f for f in _FUNCTIONS})
"""Every function plutoctl calls, by name."""

WRITES: frozenset[str] = frozenset(f.name for f in _FUNCTIONS if f.is_write)
"""The functions that change a site."""

WHOLE_CALL_ROLLBACK: frozenset[str] = frozenset(f.name for f in _FUNCTIONS if f.is_whole_call)
"""Write functions whose failed call keeps nothing: a rejected chunk may be bisected."""

PER_ITEM_WARNINGS: frozenset[str] = frozenset(f.name for f in _FUNCTIONS if f.has_item_warnings)
"""Write functions that also report some item failures as warnings, keeping the rest."""


def function(name: str) -> WsFunction:
    """Return the registry's record of ``name`` (a KeyError names an unknown function)."""
    return FUNCTIONS[name]


def list_key(name: str) -> str:
    """Return the list parameter that carries ``name``'s items."""
    key = function(name).list_key
    if key is None:
        raise ValueError(f"{name} takes no list of items")
    return key


def cost_of(name: str) -> FunctionCost:
    """Return ``name``'s cost (the default fixed cost for one not in the registry)."""
    known = FUNCTIONS.get(name)
    return known.cost if known is not None else FunctionCost()


def is_bisectable(name: str) -> bool:
    """Return whether a rejected chunk of ``name`` can be split and sent again."""
    return name in WHOLE_CALL_ROLLBACK


# --- batching ------------------------------------------------------------------------


def items_per_call(name: str, max_input_vars: int, *, vars_per_item: int | None = None) -> int:
    """Return how many list items of ``name`` one call can carry."""
    known = function(name)
    per_item = vars_per_item if vars_per_item is not None else known.vars_per_item
    room = max_input_vars - RESERVED_VARS - known.fixed_vars
    return max(1, room // per_item)


def calls_needed(name: str, n_items: int, max_input_vars: int) -> int:
    """Return the fewest calls that carry ``n_items`` items of ``name``."""
    if n_items <= 0:
        return 0
    return math.ceil(n_items / items_per_call(name, max_input_vars))


def chunk_sizes(item_vars: list[int], budget: int) -> list[int]:
    """Split items (each needing ``item_vars[i]`` variables) into runs within ``budget``.

    Greedy and order-preserving; returns the length of each run. An item larger than
    the whole budget still gets a run of its own (the site will reject it, loudly).
    """
    sizes: list[int] = []
    used = count = 0
    for need in item_vars:
        if count and used + need > budget:
            sizes.append(count)
            used = count = 0
        used += need
        count += 1
    if count:
        sizes.append(count)
    return sizes


def balanced_sizes(
    item_vars: list[int], budget: int, streams: int, *, spread: bool = False
) -> list[int]:
    """Split items as ``chunk_sizes`` does, into equal runs that keep ``streams`` busy.

    A site serves ``streams`` calls at once; greedy runs (full ones and a remainder)
    leave its last calls running alone. When more than one call is needed, the calls
    are rounded up to a multiple of ``streams`` (each extra call costs a site about
    27 ms against a full chunk's second or more) and the items spread evenly over
    them, so the streams finish together. Falls back to the greedy runs when the
    even runs would not fit the budget (items of different sizes). ``spread``: a read
    whose answer grows with each item (members of each cohort) goes over ``streams``
    calls even when one would carry every item.
    """
    greedy = chunk_sizes(item_vars, budget)
    if (len(greedy) <= 1 and not spread) or streams <= 1 or len(item_vars) <= 1:
        return greedy
    calls = math.ceil(len(greedy) / streams) * streams
    calls = min(calls, len(item_vars))
    small, extra = divmod(len(item_vars), calls)
    sizes = [small + 1] * extra + [small] * (calls - extra)
    start = 0
    for size in sizes:
        if sum(item_vars[start : start + size]) > budget:
            return greedy
        start += size
    return sizes


def balanced_calls(name: str, n_items: int, max_input_vars: int, streams: int) -> int:
    """Return the calls ``balanced_sizes`` makes for ``n_items`` items of ``name``
    (spread when ``is_worth_spreading``, as the client does)."""
    calls = calls_needed(name, n_items, max_input_vars)
    if streams <= 1:
        return calls
    if calls <= 1:
        return min(n_items, streams) if is_worth_spreading(name, n_items, streams) else calls
    return min(n_items, math.ceil(calls / streams) * streams)


SPREAD_SAVING_MS = 500.0
"""The least saving of a site's time that is worth more calls than the fewest."""


COUNT_WORTH = 4.0
"""How many calls' fixed time a listing page must cost for counting the listing to pay."""


def is_worth_counting(fields: Iterable[str], page: int, streams: int) -> bool:
    """Return whether a listing in pages of ``page`` users is worth counting as it goes.

    A listing without a count ends on its first short page: the streams that get there
    first sit idle while the others finish their last full pages, up to a page's time.
    The count takes two or three one-user calls, worth it when a page costs the site
    several calls' fixed time (pages of more than about 130 users with custom fields,
    360 with ``id,username``), and only with more than one stream.
    """
    return streams > 1 and page * listed_user_ms(fields) >= COUNT_WORTH * FIXED_MS


def is_worth_spreading(name: str, n_items: int, streams: int) -> bool:
    """Return whether items that one call of ``name`` could carry go over ``streams`` calls.

    One call is served by one stream; over ``streams`` calls the site serves the items
    ``speedup(streams)`` times as fast, for ``streams - 1`` more calls' fixed time. Only
    a saving of half a second is worth a shared site's extra calls: from about 160
    enrolments or 400 segment members in one call.
    """
    if streams <= 1 or n_items <= 1:
        return False
    cost = cost_of(name)
    alone = cost.fixed_ms + cost.item_ms * n_items
    spread = (cost.fixed_ms * streams + cost.item_ms * n_items) / speedup(streams)
    return alone - spread >= SPREAD_SAVING_MS


# --- time ----------------------------------------------------------------------------

LISTED_FIELD_MS: Mapping[str, float] = MappingProxyType(
    {"id": 0.0, "username": 0.0, "customfields": 0.52, "roles": 0.35, "groups": 0.32}
)
"""Extra cost per user listed of each field asked for; any other standard field
(firstname, email, suspended, ...) costs ``STANDARD_FIELD_MS``."""

STANDARD_FIELD_MS = 0.216

BULK_TOOL_MS = 3.4
"""Moodle's own bulk upload tool (admin/tool/uploaduser): per segment member added."""


def listed_user_ms(fields: Iterable[str]) -> float:
    """Return the cost per user of listing users with these ``userfields``."""
    extra = sum(LISTED_FIELD_MS.get(name, STANDARD_FIELD_MS) for name in set(fields))
    return cost_of(ENROLLED_USERS).item_ms + extra


def call_seconds(name: str, items: int, *, fields: Iterable[str] = ()) -> float:
    """Return one stream's server time for one call of ``name`` with ``items``."""
    cost = cost_of(name)
    per_item = listed_user_ms(fields) if name == ENROLLED_USERS else cost.item_ms
    return (cost.fixed_ms + per_item * items) / 1000


def calls_seconds(name: str, calls: int, items: int, *, streams: int = BEST_STREAMS) -> float:
    """Return the server time of ``calls`` calls carrying ``items`` in all, ``streams`` at once."""
    cost = cost_of(name)
    return (cost.fixed_ms * calls + cost.item_ms * items) / 1000 / speedup(streams)


def listing_seconds(users: int, fields: Iterable[str], *, page: int, streams: int) -> float:
    """Return the server time of listing ``users`` users in pages of ``page``."""
    pages = max(1, math.ceil(users / page))
    one_stream = (FIXED_MS * pages + listed_user_ms(fields) * users) / 1000
    return one_stream / speedup(min(streams, pages))


LOOKUP_MS = cost_of(USERS_BY_FIELD).item_ms


def break_even_users(asked: int, fields: Iterable[str] = ("id", "username")) -> int:
    """Return the most users a site can have for the listing to beat ``asked`` lookups.

    With ``id,username``, past about one user in ten of the site's, the listing costs
    less; with custom fields too, past about one in four.
    """
    return math.floor(LOOKUP_MS * asked / listed_user_ms(fields))
