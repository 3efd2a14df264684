"""Write changes to a site: turn batches of changes into web-service calls with ids.

Changes name objects by identity (usernames, segment IDs, course short names, group
idnumbers); the site wants ids. ``IdMap`` holds the ids the reader found and learns
the ids of objects created during the run. ``SiteWriter`` has one method per kind of
change; each sends every item of the batch through ``client.call_chunked`` (exact
``max_input_vars`` chunks, several in flight) and returns which items were done and
which failed, with the site's errorcode.

Quirks of a real Moodle handled here (see the reference notes on the web service):

- Writes are all-or-nothing per call (``rollback.py``, checked against recordings of
  a real site). A chunk rejected for a reason that can
  belong to one item (``invalidparameter`` for a group add of a user who is not
  enrolled, ``invaliduser``, ``errorremovenotpermitted``, …) is bisected to isolate
  the bad items; the rest is applied. A budget caps the extra calls.
- ``core_cohort_add_cohort_members`` reports per-item warnings: code 3 (already a
  member) is success, code 2 (not found) fails that item only.
- Creates and deletes are never retried blindly. When one fails (a transport error,
  or ``invalidparameter`` because someone else created the same segment ID since the
  plan), the writer re-reads those objects: what now exists is adopted (creates) or
  what is gone counts as done (deletes), and only the rest is tried again, once.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from plutoctl.errors import (
    AccessDeniedError,
    BadResponseError,
    InvalidTokenError,
    LmsError,
    PermissionDeniedError,
    TransportError,
    WebServiceDisabledError,
)
from plutoctl.lms.client import SiteClient
from plutoctl.lms.functions import (
    ADD_COHORT_MEMBERS,
    ADD_GROUP_MEMBERS,
    COURSE_GROUPS,
    CREATE_COHORTS,
    CREATE_GROUPS,
    DELETE_COHORT_MEMBERS,
    DELETE_COHORTS,
    DELETE_GROUP_MEMBERS,
    DELETE_GROUPS,
    ENROL_USERS,
    GET_COHORTS,
    SEARCH_COHORTS,
    UNENROL_USERS,
    UPDATE_COHORTS,
    UPDATE_GROUPS,
    is_bisectable,
    items_per_call,
)
from plutoctl.model import ExistingSite, SegmentFields
from plutoctl.plan.changes import (
    AddGroupMembers,
    AddSegmentMembers,
    CreateGroup,
    CreateSegment,
    DeleteGroup,
    DeleteSegment,
    Enrol,
    RemoveGroupMembers,
    RemoveSegmentMembers,
    Unenrol,
    UpdateGroup,
    UpdateSegment,
)

log = logging.getLogger(__name__)

STANDARD_ROLE_IDS: Mapping[str, int] = MappingProxyType(
    {
        "manager": 1,
        "coursecreator": 2,
        "editingteacher": 3,
        "teacher": 4,
        "student": 5,
        "guest": 6,
        "user": 7,
        "frontpage": 8,
    }
)
"""Moodle's standard role ids, used unless the site told us otherwise."""

SYSTEM_CATEGORY: Mapping[str, str] = MappingProxyType({"type": "system", "value": ""})

BISECT_BUDGET = 200
"""The most extra calls one apply spends isolating bad items in rejected batches."""

SUPERBATCH_CALLS = 8
"""Calls per in-flight slot handed to the client at once; progress is reported between."""

# Errors that say nothing about any one item: bisecting them only wastes calls.
_WHOLE_CALL_ERRORS = (
    TransportError,
    InvalidTokenError,
    AccessDeniedError,
    PermissionDeniedError,
    WebServiceDisabledError,
    BadResponseError,
)
_NOT_EXISTS = re.compile(r"\b(user|cohort) (\w+)=(.+?) not exists")
_ALREADY_MEMBER = "3"
_ADOPTED = " (made by someone else, or by a create whose answer was lost); adopted it"


class Budget:
    """A thread-safe count of the extra calls left for isolating bad items."""

    def __init__(self, calls: int = BISECT_BUDGET) -> None:
        self._left = calls
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Use one call of the budget; return False when none is left."""
        with self._lock:
            if self._left <= 0:
                return False
            self._left -= 1
            return True

    @property
    def left(self) -> int:
        return self._left


# --- values -------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One list entry of a write call, with what it means to a person.

    ``subject`` is the object the change is about (segment ID, course, or
    ``COURSE/GROUP``); ``label`` is the username for membership and enrolment, else
    the subject itself.
    """

    subject: str
    label: str
    payload: Any


@dataclass(frozen=True)
class ItemError:
    """An item that failed, with the site's errorcode (or plutoctl's) and message."""

    item: Item
    errorcode: str
    message: str


@dataclass(frozen=True)
class WriteResult:
    """What one batch of changes came to."""

    done: tuple[Item, ...] = ()
    failed: tuple[ItemError, ...] = ()
    calls_by_subject: Mapping[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    unsent: tuple[Item, ...] = ()
    """Items never sent because the run was stopped (Ctrl-C)."""

    def __add__(self, other: WriteResult) -> WriteResult:
        calls = Counter(self.calls_by_subject)
        calls.update(other.calls_by_subject)
        return WriteResult(
            done=self.done + other.done,
            failed=self.failed + other.failed,
            calls_by_subject=dict(calls),
            notes=self.notes + other.notes,
            unsent=self.unsent + other.unsent,
        )


@dataclass(frozen=True)
class _Sent:
    """A ``_send`` result plus the values successful calls returned, in order."""

    result: WriteResult
    returned: tuple[Any, ...] = ()


class IdMap:
    """Ids of the objects a plan names, learnt from the reader and from creates.

    Mutable on purpose: creates add the ids the site returns so that later steps
    (member adds into a new segment or group) can address them.
    """

    def __init__(
        self,
        *,
        users: Mapping[str, int],
        segments: Mapping[str, int],
        courses: Mapping[str, int],
        groups: Mapping[tuple[str, str], int],
        roles: Mapping[str, int] = STANDARD_ROLE_IDS,
    ) -> None:
        self.users = dict(users)
        self.segments = dict(segments)
        self.courses = dict(courses)
        self.groups = dict(groups)
        self.roles = dict(roles)

    @classmethod
    def from_existing(
        cls, existing: ExistingSite, *, role_ids: Mapping[str, int] | None = None
    ) -> IdMap:
        """Build the map from what the reader found; ``role_ids`` override the standard."""
        return cls(
            users={name: user.id for name, user in existing.users.items()},
            segments={sid: seg.id for sid, seg in existing.segments.items()},
            courses={short: course.id for short, course in existing.courses.items()},
            groups={
                (short, gid): group.id
                for short, course in existing.courses.items()
                for gid, group in course.groups.items()
            },
            roles={**STANDARD_ROLE_IDS, **(role_ids or {})},
        )


def group_subject(course: str, idnumber: str) -> str:
    """Return how a group is named to people: ``COURSE/GROUP``."""
    return f"{course}/{idnumber}"


def _unresolved(subject: str, label: str, what: str) -> ItemError:
    message = f"{what} is not known on the site"
    return ItemError(Item(subject, label, {}), "unresolved", message)


def _payload_key(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, default=str)


def _count_subjects(items: Iterable[Item]) -> Counter[str]:
    return Counter({item.subject: 1 for item in items})


def _error_of(items: Iterable[Item], exc: LmsError) -> tuple[ItemError, ...]:
    code = exc.errorcode or type(exc).__name__
    return tuple(ItemError(item, code, exc.reason) for item in items)


def cohort_member_warnings(items: Sequence[Item], result: Any) -> tuple[ItemError, ...]:
    """Return the items that ``core_cohort_add_cohort_members`` warned were not added.

    Warning code 3 (already a member) is success. Code 2 names the missing user or
    segment by ``type=value``; every item holding it failed. A warning that names
    nothing recognisable fails no item but is logged.
    """
    warnings = (result or {}).get("warnings", []) if isinstance(result, dict) else []
    failed: dict[int, ItemError] = {}
    for warning in warnings:
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


# --- the writer ---------------------------------------------------------------------


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
        self._client = client
        self.ids = ids
        self.budget = budget if budget is not None else Budget()
        self._on_items = on_items or (lambda n: None)
        self._stop = stop if stop is not None else threading.Event()

    # -- segments ------------------------------------------------------------------

    def create_segments(self, changes: Sequence[CreateSegment]) -> WriteResult:
        """Create segments; adopt any whose ID someone else created since the plan."""
        wanted = {c.idnumber: c.fields for c in changes}
        items = [
            Item(c.idnumber, c.idnumber, _cohort_record(c.idnumber, c.fields)) for c in changes
        ]
        return self._create_rounds(
            CREATE_COHORTS,
            "cohorts",
            items,
            record=self._record_segments,
            reread=lambda failed: self._adopt_segments(failed, wanted),
        )

    def update_segments(self, changes: Sequence[UpdateSegment]) -> WriteResult:
        """Update segments' fields (the full record, as the site requires)."""
        items = [
            Item(c.idnumber, c.idnumber, {"id": c.id, **_cohort_record(c.idnumber, c.fields)})
            for c in changes
        ]
        return self._send(UPDATE_COHORTS, "cohorts", items, retry_safe=True).result

    def delete_segments(self, changes: Sequence[DeleteSegment]) -> WriteResult:
        """Delete segments; a segment already gone counts as deleted."""
        items = [Item(c.idnumber, c.idnumber, c.id) for c in changes]
        return self._delete_rounds(
            DELETE_COHORTS, "cohortids", items, still_there=self._segments_there
        )

    def add_segment_members(self, changes: Sequence[AddSegmentMembers]) -> WriteResult:
        """Add members; already-a-member warnings are success."""
        items, unresolved = self._member_items(
            changes, self._segment_id, lambda seg, user: _cohort_member(seg, user)
        )
        sent = self._send(
            ADD_COHORT_MEMBERS,
            "members",
            items,
            retry_safe=True,
            inspect=cohort_member_warnings,
        )
        return sent.result + WriteResult(failed=unresolved)

    def remove_segment_members(self, changes: Sequence[RemoveSegmentMembers]) -> WriteResult:
        """Remove members (removing a non-member is a no-op on the site)."""
        items, unresolved = self._member_items(
            changes, self._segment_id, lambda seg, user: {"cohortid": seg, "userid": user}
        )
        sent = self._send(DELETE_COHORT_MEMBERS, "members", items, retry_safe=True)
        return sent.result + WriteResult(failed=unresolved)

    # -- groups --------------------------------------------------------------------

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
        result = self._create_rounds(
            CREATE_GROUPS,
            "groups",
            items,
            record=self._record_groups,
            reread=self._adopt_groups,
        )
        return result + WriteResult(failed=tuple(unresolved))

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
        return self._send(UPDATE_GROUPS, "groups", items, retry_safe=True).result

    def delete_groups(self, changes: Sequence[DeleteGroup]) -> WriteResult:
        """Delete groups; a group already gone counts as deleted."""
        courses = {c.id: c.course for c in changes}
        items = [
            Item(group_subject(c.course, c.idnumber), group_subject(c.course, c.idnumber), c.id)
            for c in changes
        ]
        return self._delete_rounds(
            DELETE_GROUPS,
            "groupids",
            items,
            still_there=lambda failed: self._groups_there(failed, courses),
        )

    def add_group_members(self, changes: Sequence[AddGroupMembers]) -> WriteResult:
        """Add group members; a user the site refuses (not enrolled) is isolated and failed."""
        items, unresolved = self._member_items(
            changes, self._group_id, lambda grp, user: {"groupid": grp, "userid": user}
        )
        sent = self._send(ADD_GROUP_MEMBERS, "members", items, retry_safe=True)
        return sent.result + WriteResult(failed=unresolved)

    def remove_group_members(self, changes: Sequence[RemoveGroupMembers]) -> WriteResult:
        """Remove group members."""
        items, unresolved = self._member_items(
            changes, self._group_id, lambda grp, user: {"groupid": grp, "userid": user}
        )
        sent = self._send(DELETE_GROUP_MEMBERS, "members", items, retry_safe=True)
        return sent.result + WriteResult(failed=unresolved)

    # -- enrolment -----------------------------------------------------------------

    def enrol(self, changes: Sequence[Enrol]) -> WriteResult:
        """Enrol users in courses (manual enrolment) with each change's role."""
        items: list[Item] = []
        unresolved: list[ItemError] = []
        for c in changes:
            course_id = self.ids.courses.get(c.course)
            role_id = self.ids.roles.get(c.role)
            for username in c.usernames:
                user_id = self.ids.users.get(username)
                if course_id is None or role_id is None or user_id is None:
                    what = _missing(c.course, course_id, c.role, role_id, username, user_id)
                    unresolved.append(_unresolved(c.course, username, what))
                    continue
                payload = {"roleid": role_id, "userid": user_id, "courseid": course_id}
                items.append(Item(c.course, username, payload))
        sent = self._send(ENROL_USERS, "enrolments", items, retry_safe=True)
        return sent.result + WriteResult(failed=tuple(unresolved))

    def unenrol(self, changes: Sequence[Unenrol]) -> WriteResult:
        """Unenrol users from courses (their manual enrolment)."""
        items: list[Item] = []
        unresolved: list[ItemError] = []
        for c in changes:
            course_id = self.ids.courses.get(c.course)
            for username in c.usernames:
                user_id = self.ids.users.get(username)
                if course_id is None or user_id is None:
                    what = _missing(c.course, course_id, "", 0, username, user_id)
                    unresolved.append(_unresolved(c.course, username, what))
                    continue
                payload = {"userid": user_id, "courseid": course_id}
                items.append(Item(c.course, username, payload))
        sent = self._send(UNENROL_USERS, "enrolments", items, retry_safe=True)
        return sent.result + WriteResult(failed=tuple(unresolved))

    # -- ids -----------------------------------------------------------------------

    def _segment_id(
        self, change: AddSegmentMembers | RemoveSegmentMembers
    ) -> tuple[str, int | None]:
        return change.idnumber, self.ids.segments.get(change.idnumber)

    def _group_id(self, change: AddGroupMembers | RemoveGroupMembers) -> tuple[str, int | None]:
        subject = group_subject(change.course, change.idnumber)
        return subject, self.ids.groups.get((change.course, change.idnumber))

    def _member_items(
        self,
        changes: Sequence[Any],
        container: Callable[[Any], tuple[str, int | None]],
        payload: Callable[[int, int], dict[str, Any]],
    ) -> tuple[list[Item], tuple[ItemError, ...]]:
        """Return the member items of ``changes`` and the ones whose ids are unknown."""
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
        return items, tuple(unresolved)

    # -- sending -------------------------------------------------------------------

    def _send(
        self,
        function: str,
        list_key: str,
        items: Sequence[Item],
        *,
        retry_safe: bool,
        inspect: Callable[[Sequence[Item], Any], tuple[ItemError, ...]] | None = None,
        is_bisected: bool = True,
    ) -> _Sent:
        """Send ``items`` in exact chunks; bisect chunks rejected for an item's sake."""
        total = _Sent(WriteResult())
        for batch in self._superbatches(function, items):
            if self._stop.is_set():
                total = _join(total, _Sent(WriteResult(unsent=tuple(batch))))
                continue
            chunks = self._client.call_chunked(
                function, list_key, [i.payload for i in batch], retry_safe=retry_safe
            )
            lookup = _ItemLookup(batch)
            for chunk in chunks:
                chunk_items = lookup.find(chunk.items)
                calls = WriteResult(calls_by_subject=_count_subjects(chunk_items))
                if chunk.error is None:
                    outcome = _accepted(chunk_items, chunk.result, inspect)
                elif is_bisected and is_bisectable(function):
                    outcome = self._isolate(
                        function,
                        list_key,
                        chunk_items,
                        chunk.error,
                        retry_safe=retry_safe,
                        inspect=inspect,
                        is_known_bad=True,
                    )
                else:
                    outcome = _Sent(WriteResult(failed=_error_of(chunk_items, chunk.error)))
                total = _join(total, _Sent(calls), outcome)
            self._on_items(len(batch))
        return total

    def _superbatches(self, function: str, items: Sequence[Item]) -> Iterable[Sequence[Item]]:
        """Yield runs of whole chunks, so progress can be shown without extra calls."""
        max_vars = getattr(self._client, "max_input_vars", None)
        parallelism = int(getattr(self._client, "parallelism", 1) or 1)
        if not isinstance(max_vars, int) or not items:
            yield items
            return
        size = items_per_call(function, max_vars) * parallelism * SUPERBATCH_CALLS
        for start in range(0, len(items), size):
            yield items[start : start + size]

    def _isolate(
        self,
        function: str,
        list_key: str,
        items: Sequence[Item],
        error: LmsError,
        *,
        retry_safe: bool,
        inspect: Callable[[Sequence[Item], Any], tuple[ItemError, ...]] | None,
        is_known_bad: bool,
    ) -> _Sent:
        """Find the items that make an all-or-nothing call fail; apply the rest.

        ``items`` failed with ``error`` when ``is_known_bad``; otherwise they are
        tried first. Each half costs a call from the budget; when it runs out, what
        is left fails with the error that was last seen.
        """
        if not is_known_bad:
            if not self.budget.take():
                return _Sent(WriteResult(failed=_error_of(items, error)))
            calls = WriteResult(calls_by_subject=_count_subjects(items))
            try:
                result = self._client.call(
                    function, {list_key: [i.payload for i in items]}, retry_safe=retry_safe
                )
            except LmsError as exc:
                error = exc
            else:
                return _join(_Sent(calls), _accepted(items, result, inspect))
            if len(items) == 1 or isinstance(error, _WHOLE_CALL_ERRORS):
                return _Sent(calls + WriteResult(failed=_error_of(items, error)))
            return _join(
                _Sent(calls),
                self._split(
                    function, list_key, items, error, retry_safe=retry_safe, inspect=inspect
                ),
            )
        if len(items) == 1 or isinstance(error, _WHOLE_CALL_ERRORS):
            return _Sent(WriteResult(failed=_error_of(items, error)))
        return self._split(function, list_key, items, error, retry_safe=retry_safe, inspect=inspect)

    def _split(
        self,
        function: str,
        list_key: str,
        items: Sequence[Item],
        error: LmsError,
        *,
        retry_safe: bool,
        inspect: Callable[[Sequence[Item], Any], tuple[ItemError, ...]] | None,
    ) -> _Sent:
        """Try the left half; if it went through, the right half is the one that fails."""
        mid = len(items) // 2
        left, right = items[:mid], items[mid:]
        first = self._isolate(
            function,
            list_key,
            left,
            error,
            retry_safe=retry_safe,
            inspect=inspect,
            is_known_bad=False,
        )
        right_is_bad = not first.result.failed
        second = self._isolate(
            function,
            list_key,
            right,
            error,
            retry_safe=retry_safe,
            inspect=inspect,
            is_known_bad=right_is_bad,
        )
        return _join(first, second)

    # -- creates and deletes -------------------------------------------------------

    def _create_rounds(
        self,
        function: str,
        list_key: str,
        items: Sequence[Item],
        *,
        record: Callable[[Sequence[Item], Sequence[Any]], None],
        reread: Callable[[Sequence[ItemError]], tuple[WriteResult, list[Item]]],
    ) -> WriteResult:
        """Create; on failure re-read, adopt what exists, and create the rest once more.

        The first round sends whole chunks; the second, after the re-read showed
        which objects are still missing, bisects so that one bad item cannot block
        the others.
        """
        total = WriteResult()
        pending = list(items)
        for round_no in range(2):
            sent = self._send(
                function, list_key, pending, retry_safe=False, is_bisected=round_no > 0
            )
            record(sent.result.done, sent.returned)
            total += WriteResult(
                done=sent.result.done,
                calls_by_subject=sent.result.calls_by_subject,
                unsent=sent.result.unsent,
            )
            if not sent.result.failed:
                return total
            adopted, pending = reread(sent.result.failed)
            total += adopted
            if not pending:
                return total
            if round_no == 1:
                still = {id(i) for i in pending}
                total += WriteResult(
                    failed=tuple(e for e in sent.result.failed if id(e.item) in still)
                )
        return total

    def _delete_rounds(
        self,
        function: str,
        list_key: str,
        items: Sequence[Item],
        *,
        still_there: Callable[[Sequence[Item]], set[int]],
    ) -> WriteResult:
        """Delete by id; on failure re-read, count what is gone, and bisect the rest."""
        total = WriteResult()
        pending = list(items)
        for round_no in range(2):
            sent = self._send(
                function, list_key, pending, retry_safe=False, is_bisected=round_no > 0
            ).result
            total += WriteResult(
                done=sent.done, calls_by_subject=sent.calls_by_subject, unsent=sent.unsent
            )
            if not sent.failed:
                return total
            failed_items = [e.item for e in sent.failed]
            there = still_there(failed_items)
            total += WriteResult(done=tuple(i for i in failed_items if i.payload not in there))
            pending = [i for i in failed_items if i.payload in there]
            if not pending:
                return total
            if round_no == 1:
                total += WriteResult(
                    failed=tuple(e for e in sent.failed if e.item.payload in there)
                )
        return total

    def _record_segments(self, done: Sequence[Item], returned: Sequence[Any]) -> None:
        for record in _records(returned):
            self.ids.segments[str(record["idnumber"])] = int(record["id"])

    def _record_groups(self, done: Sequence[Item], returned: Sequence[Any]) -> None:
        course_by_id = {cid: short for short, cid in self.ids.courses.items()}
        for record in _records(returned):
            course = course_by_id.get(int(record["courseid"]))
            if course is not None:
                self.ids.groups[(course, str(record["idnumber"]))] = int(record["id"])

    def _adopt_segments(
        self, failed: Sequence[ItemError], wanted: Mapping[str, SegmentFields]
    ) -> tuple[WriteResult, list[Item]]:
        """Re-read failed segment IDs; adopt those that exist (and align their fields)."""
        found = self._find_segments([e.item.subject for e in failed])
        adopted: list[Item] = []
        updates: list[UpdateSegment] = []
        pending: list[Item] = []
        for error in failed:
            record = found.get(error.item.subject)
            if record is None:
                pending.append(error.item)
                continue
            self.ids.segments[error.item.subject] = int(record["id"])
            adopted.append(error.item)
            fields = wanted[error.item.subject]
            if _segment_fields(record) != fields:
                updates.append(UpdateSegment(error.item.subject, int(record["id"]), fields, ()))
        notes = tuple(
            f"segment {i.subject!r} already exists on the site{_ADOPTED}" for i in adopted
        )
        result = WriteResult(done=tuple(adopted), notes=notes)
        if updates:
            result += self.update_segments(updates)
        return result, pending

    def _find_segments(self, idnumbers: Sequence[str]) -> dict[str, Mapping[str, Any]]:
        """Look segment IDs up with ``core_cohort_search_cohorts`` (exact match kept)."""
        found = self._client.map_concurrent(self._search_segment, list(dict.fromkeys(idnumbers)))
        return {str(r["idnumber"]): r for r in found if r is not None}

    def _search_segment(self, idnumber: str) -> Mapping[str, Any] | None:
        page_size = 100
        for page in range(100):
            params = {
                "query": idnumber,
                "context": {"contextlevel": "system", "instanceid": 0},
                "includes": "all",
                "limitfrom": page,
                "limitnum": page_size,
            }
            result = self._client.call(SEARCH_COHORTS, params, retry_safe=True)
            cohorts = result.get("cohorts", []) if isinstance(result, dict) else []
            for cohort in cohorts:
                if cohort.get("idnumber") == idnumber:
                    return dict(cohort)
            if len(cohorts) < page_size:
                return None
        return None

    def _segments_there(self, items: Sequence[Item]) -> set[int]:
        ids = [int(i.payload) for i in items]
        result = self._client.call(GET_COHORTS, {"cohortids": ids}, retry_safe=True)
        return {int(r["id"]) for r in _records([result])}

    def _adopt_groups(self, failed: Sequence[ItemError]) -> tuple[WriteResult, list[Item]]:
        """Re-read the courses of failed group creates; adopt groups that now exist."""
        course_ids = sorted({int(e.item.payload["courseid"]) for e in failed})
        listings = self._client.map_concurrent(self._course_groups, course_ids)
        found = {
            (int(g["courseid"]), str(g.get("idnumber") or "")): int(g["id"])
            for groups in listings
            for g in groups
        }
        course_by_id = {cid: short for short, cid in self.ids.courses.items()}
        adopted: list[Item] = []
        pending: list[Item] = []
        for error in failed:
            payload = error.item.payload
            key = (int(payload["courseid"]), str(payload["idnumber"]))
            if key in found:
                self.ids.groups[(course_by_id[key[0]], key[1])] = found[key]
                adopted.append(error.item)
            else:
                pending.append(error.item)
        notes = tuple(f"group {i.subject!r} already exists on the site{_ADOPTED}" for i in adopted)
        return WriteResult(done=tuple(adopted), notes=notes), pending

    def _course_groups(self, course_id: int) -> list[Mapping[str, Any]]:
        result = self._client.call(COURSE_GROUPS, {"courseid": course_id}, retry_safe=True)
        return [g for g in result or [] if isinstance(g, dict)]

    def _groups_there(self, items: Sequence[Item], courses: Mapping[int, str]) -> set[int]:
        names = {courses[int(i.payload)] for i in items}
        course_ids = sorted(self.ids.courses[n] for n in names if n in self.ids.courses)
        listings = self._client.map_concurrent(self._course_groups, course_ids)
        return {int(g["id"]) for groups in listings for g in groups}


# --- helpers --------------------------------------------------------------------------


class _ItemLookup:
    """Finds the items of a chunk from the payloads the client hands back."""

    def __init__(self, items: Sequence[Item]) -> None:
        self._by_identity = {id(i.payload): i for i in items}
        self._items = items
        self._by_key: dict[str, Item] | None = None

    def find(self, payloads: Sequence[Any]) -> list[Item]:
        found: list[Item] = []
        for payload in payloads:
            item = self._by_identity.get(id(payload))
            if item is None:
                item = self._keyed().get(_payload_key(payload))
            if item is not None:
                found.append(item)
        return found

    def _keyed(self) -> dict[str, Item]:
        if self._by_key is None:
            self._by_key = {_payload_key(i.payload): i for i in self._items}
        return self._by_key


def _accepted(
    items: Sequence[Item],
    result: Any,
    inspect: Callable[[Sequence[Item], Any], tuple[ItemError, ...]] | None,
) -> _Sent:
    failed = inspect(items, result) if inspect else ()
    if not failed:
        return _Sent(WriteResult(done=tuple(items)), returned=(result,))
    bad = {id(e.item) for e in failed}
    done = tuple(i for i in items if id(i) not in bad)
    return _Sent(WriteResult(done=done, failed=failed), returned=(result,))


def _join(*parts: _Sent) -> _Sent:
    result = WriteResult()
    returned: tuple[Any, ...] = ()
    for part in parts:
        result += part.result
        returned += part.returned
    return _Sent(result, returned)


def _records(returned: Iterable[Any]) -> list[Mapping[str, Any]]:
    """Flatten the lists of records that create/get calls returned."""
    records: list[Mapping[str, Any]] = []
    for value in returned:
        if isinstance(value, list):
            records.extend(r for r in value if isinstance(r, dict))
    return records


def _cohort_record(idnumber: str, fields: SegmentFields) -> dict[str, Any]:
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


def _segment_fields(record: Mapping[str, Any]) -> SegmentFields:
    return SegmentFields(
        name=str(record.get("name", "")),
        description=str(record.get("description") or ""),
        visible=bool(record.get("visible", True)),
    )


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
