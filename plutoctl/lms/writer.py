"""Write changes to a site: one short method per kind of change.

Each method turns a batch of changes into write items (the ids from ``IdMap``, the
payload its kind's web-service function takes) and hands them to the sender
(``send.py``: exact chunks, several in flight, bisection) or, for creates and
deletes, to the adopter (``adopt.py``: re-read and adopt instead of retrying). A
method is marked with the change class it writes (``@_writes``), which is how
``SiteWriter.write`` finds it. Which function writes a kind is the kind table's
(``plan/changes/kinds.py``, ``KINDS``); what is known of the function (list
parameter, variables per item, whether a call may be repeated or bisected) is the
registry's (``functions.py``): neither is repeated here. Items whose ids are
unknown fail with ``unresolved`` without a call.

``core_cohort_add_cohort_members`` also reports some items as warnings: code 3
(already a member) is success, code 2 (not found) fails that item only.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, TypeVar

from plutoctl.lms.adopt import Adopter
from plutoctl.lms.client import SiteClient
from plutoctl.lms.ids import IdMap
from plutoctl.lms.send import Budget, Inspect, Item, ItemError, Sender, WriteResult
from plutoctl.model import SegmentFields
from plutoctl.plan.changes.base import group_subject
from plutoctl.plan.changes.kinds import (
    KIND_OF,
    KIND_OF_STEP,
    AddGroupMembers,
    AddSegmentMembers,
    Change,
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

log = logging.getLogger(__name__)

SYSTEM_CATEGORY: Mapping[str, str] = MappingProxyType({"type": "system", "value": ""})

_NOT_EXISTS = re.compile(r"\b(user|cohort) (\w+)=(.+?) not exists")
_ALREADY_MEMBER = "3"

Payload = Callable[[int, int], dict[str, Any]]
"""Builds a member item's payload from the container's id and the user's id."""

C = TypeVar("C", bound=Change)
Method = Callable[["SiteWriter", Sequence[C]], WriteResult]

_METHODS: dict[type, Method[Any]] = {}
"""The method that writes each kind of change, by change class (filled by ``_writes``)."""


def _writes(change: type[C]) -> Callable[[Method[C]], Method[C]]:
    """Mark a ``SiteWriter`` method as the one that writes ``change``'s kind."""

    def register(method: Method[C]) -> Method[C]:
        _METHODS[change] = method
        return method

    return register


def _function_of(change: type[Change]) -> str:
    """Return the web-service function that writes ``change``'s kind (the kind table's)."""
    return KIND_OF[change].function


class SiteWriter:
    """Sends batches of changes to one site and reports item by item."""

    def __init__(
        self,
        client: SiteClient,
        ids: IdMap,
        *,
        budget: Budget | None = None,
        on_items: Callable[[int], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.ids = ids
        self._sender = Sender(client, budget=budget, on_items=on_items, stop=stop)
        self._adopter = Adopter(self._sender, ids)
        self.budget = self._sender.budget

    def write(self, step: Step, changes: Sequence[Any]) -> WriteResult:
        """Write a batch of changes of one kind (``step``) with that kind's method."""
        return _METHODS[KIND_OF_STEP[step].change](self, changes)

    # -- segments ------------------------------------------------------------------

    @_writes(CreateSegment)
    def create_segments(self, changes: Sequence[CreateSegment]) -> WriteResult:
        """Create segments; adopt any whose ID someone else created since the plan."""
        wanted = {c.idnumber: c.fields for c in changes}
        items = [Item(c.idnumber, c.idnumber, _cohort(c.idnumber, c.fields)) for c in changes]
        return self._adopter.create_segments(
            _function_of(CreateSegment), items, wanted, self.update_segments
        )

    @_writes(UpdateSegment)
    def update_segments(self, changes: Sequence[UpdateSegment]) -> WriteResult:
        """Update segments' fields (the full record, as the site requires)."""
        items = [
            Item(c.idnumber, c.idnumber, {"id": c.id, **_cohort(c.idnumber, c.fields)})
            for c in changes
        ]
        return self._send(_function_of(UpdateSegment), items)

    @_writes(DeleteSegment)
    def delete_segments(self, changes: Sequence[DeleteSegment]) -> WriteResult:
        """Delete segments; a segment already gone counts as deleted."""
        items = [Item(c.idnumber, c.idnumber, c.id) for c in changes]
        return self._adopter.delete_segments(_function_of(DeleteSegment), items)

    @_writes(AddSegmentMembers)
    def add_segment_members(self, changes: Sequence[AddSegmentMembers]) -> WriteResult:
        """Add members; already-a-member warnings are success."""
        return self._members(
            _function_of(AddSegmentMembers),
            changes,
            self._segment_id,
            _cohort_member,
            cohort_member_warnings,
        )

    @_writes(RemoveSegmentMembers)
    def remove_segment_members(self, changes: Sequence[RemoveSegmentMembers]) -> WriteResult:
        """Remove members (removing a non-member is a no-op on the site)."""
        return self._members(
            _function_of(RemoveSegmentMembers),
            changes,
            self._segment_id,
            lambda seg, user: {"cohortid": seg, "userid": user},
        )

    # -- groups --------------------------------------------------------------------

    @_writes(CreateGroup)
    def create_groups(self, changes: Sequence[CreateGroup]) -> WriteResult:
        """Create groups; adopt any whose idnumber now exists in the course."""
        items: list[Item] = []
        unresolved: list[ItemError] = []
        for c in changes:
            subject = group_subject(c.course, c.idnumber)
            course_id = self.ids.courses.get(c.course)
            if course_id is None:
                unresolved.append(_unresolved(subject, subject, f"course {c.course!r}"))
                continue
            payload = {
                "courseid": course_id,
                "name": c.name,
                "description": c.description,
                "idnumber": c.idnumber,
            }
            items.append(Item(subject, subject, payload))
        result = self._adopter.create_groups(_function_of(CreateGroup), items)
        return result + WriteResult(failed=tuple(unresolved))

    @_writes(UpdateGroup)
    def update_groups(self, changes: Sequence[UpdateGroup]) -> WriteResult:
        """Update groups' name and description."""
        items = [
            Item(
                group_subject(c.course, c.idnumber),
                group_subject(c.course, c.idnumber),
                {"id": c.id, "name": c.name, "description": c.description, "idnumber": c.idnumber},
            )
            for c in changes
        ]
        return self._send(_function_of(UpdateGroup), items)

    @_writes(DeleteGroup)
    def delete_groups(self, changes: Sequence[DeleteGroup]) -> WriteResult:
        """Delete groups; a group already gone counts as deleted."""
        courses = {c.id: c.course for c in changes}
        items = [
            Item(group_subject(c.course, c.idnumber), group_subject(c.course, c.idnumber), c.id)
            for c in changes
        ]
        return self._adopter.delete_groups(_function_of(DeleteGroup), items, courses)

    @_writes(AddGroupMembers)
    def add_group_members(self, changes: Sequence[AddGroupMembers]) -> WriteResult:
        """Add group members; a user the site refuses (not enrolled) is isolated and failed."""
        return self._members(_function_of(AddGroupMembers), changes, self._group_id, _group_member)

    @_writes(RemoveGroupMembers)
    def remove_group_members(self, changes: Sequence[RemoveGroupMembers]) -> WriteResult:
        """Remove group members."""
        return self._members(
            _function_of(RemoveGroupMembers), changes, self._group_id, _group_member
        )

    # -- enrolment -----------------------------------------------------------------

    @_writes(Enrol)
    def enrol(self, changes: Sequence[Enrol]) -> WriteResult:
        """Enrol users in courses (manual enrolment) with each change's role."""
        return self._enrolments(
            _function_of(Enrol),
            changes,
            lambda c: (c.role, self.ids.roles.get(c.role)),
            lambda course, role, user: {"roleid": role, "userid": user, "courseid": course},
        )

    @_writes(Unenrol)
    def unenrol(self, changes: Sequence[Unenrol]) -> WriteResult:
        """Unenrol users from courses (their manual enrolment)."""
        return self._enrolments(
            _function_of(Unenrol),
            changes,
            lambda c: ("", 0),  # no role to resolve
            lambda course, _role, user: {"userid": user, "courseid": course},
        )

    # -- shared --------------------------------------------------------------------

    def _send(
        self, name: str, items: Sequence[Item], inspect: Inspect | None = None
    ) -> WriteResult:
        return self._sender.send(name, items, inspect=inspect).result

    def _enrolments(
        self,
        name: str,
        changes: Sequence[Any],
        role: Callable[[Any], tuple[str, int | None]],
        payload: Callable[[int, int, int], dict[str, Any]],
    ) -> WriteResult:
        """Send the enrolment items of ``changes`` (payload of course, role and user ids)."""
        items: list[Item] = []
        unresolved: list[ItemError] = []
        for c in changes:
            course_id = self.ids.courses.get(c.course)
            role_name, role_id = role(c)
            for username in c.usernames:
                user_id = self.ids.users.get(username)
                if course_id is None or role_id is None or user_id is None:
                    what = _missing(c.course, course_id, role_name, role_id, username, user_id)
                    unresolved.append(_unresolved(c.course, username, what))
                    continue
                items.append(Item(c.course, username, payload(course_id, role_id, user_id)))
        return self._send(name, items) + WriteResult(failed=tuple(unresolved))

    def _segment_id(
        self, change: AddSegmentMembers | RemoveSegmentMembers
    ) -> tuple[str, int | None]:
        return change.idnumber, self.ids.segments.get(change.idnumber)

    def _group_id(self, change: AddGroupMembers | RemoveGroupMembers) -> tuple[str, int | None]:
        subject = group_subject(change.course, change.idnumber)
        return subject, self.ids.groups.get((change.course, change.idnumber))

    def _members(
        self,
        name: str,
        changes: Sequence[Any],
        container: Callable[[Any], tuple[str, int | None]],
        payload: Payload,
        inspect: Inspect | None = None,
    ) -> WriteResult:
        """Send the member items of ``changes``; those whose ids are unknown fail unsent."""
        items: list[Item] = []
        unresolved: list[ItemError] = []
        for change in changes:
            subject, container_id = container(change)
            for username in change.usernames:
                user_id = self.ids.users.get(username)
                if container_id is None:
                    unresolved.append(_unresolved(subject, username, subject))
                elif user_id is None:
                    unresolved.append(_unresolved(subject, username, f"user {username!r}"))
                else:
                    items.append(Item(subject, username, payload(container_id, user_id)))
        return self._send(name, items, inspect) + WriteResult(failed=tuple(unresolved))


def cohort_member_warnings(items: Sequence[Item], result: Any) -> tuple[ItemError, ...]:
    """Return the items that ``core_cohort_add_cohort_members`` warned were not added.

    Warning code 3 (already a member) is success. Code 2 names the missing user or
    segment by ``type=value``; every item holding it failed. A warning that names
    nothing recognisable fails no item but is logged.
    """
    warnings = (result or {}).get("warnings", []) if isinstance(result, dict) else []
    failed: dict[int, ItemError] = {}
    for warning in warnings if isinstance(warnings, list) else [warnings]:
        if not isinstance(warning, dict):  # not Moodle's shape: nothing it says is attributable
            log.warning("unattributed warning from add members: %s", warning)
            continue
        code = str(warning.get("warningcode", ""))
        message = str(warning.get("message", ""))
        if code == _ALREADY_MEMBER:
            continue
        match = _NOT_EXISTS.search(message)
        if not match:
            log.warning("unattributed warning %s from add members: %s", code, message)
            continue
        kind, id_type, value = match.groups()
        key = "usertype" if kind == "user" else "cohorttype"
        for index, item in enumerate(items):
            ref = item.payload.get(key, {})
            if ref.get("type") == id_type and str(ref.get("value")) == value:
                failed[index] = ItemError(item, f"warning{code}", message)
    return tuple(failed.values())


def _unresolved(subject: str, label: str, what: str) -> ItemError:
    message = f"{what} is not known on the site"
    return ItemError(Item(subject, label, {}), "unresolved", message)


def _cohort(idnumber: str, fields: SegmentFields) -> dict[str, Any]:
    return {
        "categorytype": dict(SYSTEM_CATEGORY),
        "name": fields.name,
        "idnumber": idnumber,
        "description": fields.description,
        "visible": 1 if fields.visible else 0,
    }


def _cohort_member(cohort_id: int, user_id: int) -> dict[str, Any]:
    return {
        "cohorttype": {"type": "id", "value": cohort_id},
        "usertype": {"type": "id", "value": user_id},
    }


def _group_member(group_id: int, user_id: int) -> dict[str, Any]:
    return {"groupid": group_id, "userid": user_id}


def _missing(
    course: str,
    course_id: int | None,
    role: str,
    role_id: int | None,
    username: str,
    user_id: int | None,
) -> str:
    if course_id is None:
        return f"course {course!r}"
    if role_id is None:
        return f"role {role!r}"
    return f"user {username!r}"
