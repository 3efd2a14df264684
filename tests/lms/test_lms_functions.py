"""The registry of web-service functions agrees with the change kinds and with itself."""

from __future__ import annotations

import pytest

from plutoctl.lms.client import RetryPolicy, SiteClient
from plutoctl.lms.functions import (
    FUNCTIONS,
    RESERVED_VARS,
    WRITES,
    function,
    is_bisectable,
    items_per_call,
    list_key,
)
from plutoctl.lms.ids import IdMap
from plutoctl.lms.writer import SiteWriter
from plutoctl.model import SegmentFields
from plutoctl.plan.changes import (
    KIND_OF,
    KINDS,
    AddGroupMembers,
    AddSegmentMembers,
    CreateGroup,
    CreateSegment,
    DeleteGroup,
    DeleteSegment,
    Enrol,
    RemoveGroupMembers,
    RemoveSegmentMembers,
    Step,
    Unenrol,
    UpdateGroup,
    UpdateSegment,
)
from plutoctl.sandbox import Sandbox


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


def test_the_writer_writes_every_kind_with_its_kinds_function() -> None:
    changes = {
        Step.CREATE_SEGMENT: CreateSegment("s1", SegmentFields("S1", "", True)),
        Step.UPDATE_SEGMENT: UpdateSegment("s0", 0, SegmentFields("S0", "", True), ()),
        Step.DELETE_SEGMENT: DeleteSegment("s9", 0, 0),
        Step.ADD_SEGMENT_MEMBERS: AddSegmentMembers("s1", ("u1",)),
        Step.REMOVE_SEGMENT_MEMBERS: RemoveSegmentMembers("s0", ("u1",), 1),
        Step.CREATE_GROUP: CreateGroup("C1", "g1", "G1", ""),
        Step.UPDATE_GROUP: UpdateGroup("C1", "g0", 0, "G0", "", ()),
        Step.DELETE_GROUP: DeleteGroup("C1", "g9", 0, 0),
        Step.ADD_GROUP_MEMBERS: AddGroupMembers("C1", "g1", ("u1",)),
        Step.REMOVE_GROUP_MEMBERS: RemoveGroupMembers("C1", "g0", ("u1",), 1),
        Step.ENROL: Enrol("C1", "student", ("u1",), "s1"),
        Step.UNENROL: Unenrol("C1", ("u1",), "s1"),
    }
    assert set(changes) == {kind.step for kind in KINDS}
    retry = RetryPolicy.without_waiting(attempts=1)
    with Sandbox.start() as sb, SiteClient("lab", sb.url, sb.token, retry=retry) as client:
        sb.store.add_user("u1")
        writer = SiteWriter(client, IdMap(users={}, segments={}, courses={}, groups={}))
        for step, change in changes.items():
            function = KIND_OF[type(change)].function
            before = client.calls[function]
            result = writer.write(step, [change])
            assert len(result.done) + len(result.failed) == 1, step
            unresolved = [e for e in result.failed if e.errorcode == "unresolved"]
            # An item whose ids are unknown fails unsent; any other goes to its function.
            assert (client.calls[function] > before) != bool(unresolved), step
