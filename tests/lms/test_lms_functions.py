"""The registry of web-service functions agrees with the change kinds and with itself."""

from __future__ import annotations

import dataclasses
import typing

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
from plutoctl.plan.changes.kinds import KIND_OF, KINDS, Change
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


SAMPLE_VALUES: dict[object, object] = {str: "u1", int: 0, bool: True, object: "u1"}
"""The value of each plain field type in a sample change (``u1`` is also a user)."""


def sample(cls: type) -> typing.Any:
    """Return an instance of a dataclass built from its fields' types alone.

    Every ``str`` is ``u1``, every ``int`` 0, every tuple holds one value; a field that
    is itself a dataclass (``SegmentFields``) is built the same way. A new change
    kind gets its sample from its class, with nothing to write here.
    """
    hints = typing.get_type_hints(cls)
    fields = [f for f in dataclasses.fields(cls) if f.init]
    return cls(**{f.name: _sample_value(hints[f.name]) for f in fields})


def _sample_value(hint: object) -> object:
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return sample(hint)
    if typing.get_origin(hint) is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return (_sample_value(args[0]),)
        return tuple(_sample_value(arg) for arg in args)
    return SAMPLE_VALUES[hint]


def test_the_writer_writes_every_kind_with_its_kinds_function() -> None:
    changes: list[Change] = [sample(kind.change) for kind in KINDS]
    assert [(type(c), c.step) for c in changes] == [(k.change, k.step) for k in KINDS]
    retry = RetryPolicy.without_waiting(attempts=1)
    sent, unsent = [], []
    with Sandbox.start() as sb, SiteClient("lab", sb.url, sb.token, retry=retry) as client:
        sb.store.add_user("u1")
        writer = SiteWriter(client, IdMap(users={}, segments={}, courses={}, groups={}))
        for change in changes:
            step = change.step
            function = KIND_OF[type(change)].function
            before = client.calls[function]
            result = writer.write(step, [change])
            assert len(result.done) + len(result.failed) == 1, step
            unresolved = [e for e in result.failed if e.errorcode == "unresolved"]
            # An item whose ids are unknown fails unsent; any other goes to its function.
            assert (client.calls[function] > before) != bool(unresolved), step
            (unsent if unresolved else sent).append(step)
    # The samples reach both paths: ids in the change itself are sent, others unknown.
    assert sent and unsent
