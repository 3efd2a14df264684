"""How many items fit in one web-service call under a site's ``max_input_vars``.

PHP silently drops request variables past ``max_input_vars``, so every batch must
be sized exactly: the client uses ``chunk_sizes`` to split calls, and the planner
uses ``calls_needed`` to say how many calls apply will make. Both count the same way:
every flattened PHP-bracket key is one variable, plus the reserved keys every call
sends (``wstoken``, ``wsfunction``, ``moodlewsrestformat``, ``moodlewssettingraw``)
and the function's own scalar parameters.
"""

from __future__ import annotations

import math

RESERVED_VARS = 4
"""wstoken, wsfunction, moodlewsrestformat, moodlewssettingraw."""

VARS_PER_ITEM: dict[str, int] = {
    # cohorts[i][categorytype][type|value], [name], [idnumber], [description], [visible]
    "core_cohort_create_cohorts": 6,
    # the same plus [id]
    "core_cohort_update_cohorts": 7,
    "core_cohort_delete_cohorts": 1,
    # members[i][cohorttype][type|value], members[i][usertype][type|value]
    "core_cohort_add_cohort_members": 4,
    "core_cohort_delete_cohort_members": 2,
    "core_cohort_get_cohort_members": 1,
    "core_user_get_users_by_field": 1,
    # groups[i][courseid|name|description|idnumber]
    "core_group_create_groups": 4,
    # groups[i][id|name|description|idnumber]
    "core_group_update_groups": 4,
    "core_group_delete_groups": 1,
    "core_group_add_group_members": 2,
    "core_group_delete_group_members": 2,
    "core_group_get_group_members": 1,
    # enrolments[i][roleid|userid|courseid]
    "enrol_manual_enrol_users": 3,
    # enrolments[i][userid|courseid]
    "enrol_manual_unenrol_users": 2,
}

FIXED_VARS: dict[str, int] = {
    "core_user_get_users_by_field": 1,  # field
}


def items_per_call(function: str, max_input_vars: int, *, vars_per_item: int | None = None) -> int:
    """Return how many list items of ``function`` one call can carry."""
    per_item = vars_per_item if vars_per_item is not None else VARS_PER_ITEM[function]
    room = max_input_vars - RESERVED_VARS - FIXED_VARS.get(function, 0)
    return max(1, room // per_item)


def calls_needed(function: str, n_items: int, max_input_vars: int) -> int:
    """Return the fewest calls that carry ``n_items`` items of ``function``."""
    if n_items <= 0:
        return 0
    return math.ceil(n_items / items_per_call(function, max_input_vars))


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


def balanced_calls(function: str, n_items: int, max_input_vars: int, streams: int) -> int:
    """Return the calls ``balanced_sizes`` makes for ``n_items`` items of ``function``."""
    calls = calls_needed(function, n_items, max_input_vars)
    if calls <= 1 or streams <= 1:
        return calls
    return min(n_items, math.ceil(calls / streams) * streams)
