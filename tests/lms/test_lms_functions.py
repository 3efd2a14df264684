"""The registry of web-service functions agrees with the change kinds and with itself."""

from __future__ import annotations

import pytest

from plutoctl.lms.functions import (
    FUNCTIONS,
    RESERVED_VARS,
    WRITES,
    function,
    is_bisectable,
    items_per_call,
    list_key,
)
from plutoctl.plan.changes import KINDS


def test_every_kind_is_written_by_a_registered_write() -> None:
    assert {kind.function for kind in KINDS} == WRITES


@pytest.mark.parametrize("name", sorted(WRITES))
def test_every_write_is_batched_and_bisectable(name: str) -> None:
    assert function(name).list_key
    assert function(name).vars_per_item >= 1
    assert is_bisectable(name)


def test_only_creates_and_deletes_of_objects_are_never_repeated() -> None:
    never = {name for name, f in FUNCTIONS.items() if not f.is_retry_safe}
    assert never == {
        "core_cohort_create_cohorts",
        "core_cohort_delete_cohorts",
        "core_group_create_groups",
        "core_group_delete_groups",
    }


def test_items_per_call_leaves_room_for_the_reserved_and_fixed_variables() -> None:
    # values[i] under max_input_vars 1000: 4 reserved, 1 for ``field``.
    assert items_per_call("core_user_get_users_by_field", 1000) == 1000 - RESERVED_VARS - 1
    assert items_per_call("core_cohort_add_cohort_members", 1000) == (1000 - RESERVED_VARS) // 4


def test_a_function_without_a_list_has_no_list_key() -> None:
    with pytest.raises(ValueError, match="takes no list"):
        list_key("core_webservice_get_site_info")
