"""Send a batch of write items: exact chunks, several in flight, bisection, item by item results.

Every write goes through ``Sender.send``: the items of a batch go to the client's
``call_chunked`` (chunks sized to the site's ``max_input_vars``, several calls in
flight) in runs of whole chunks, so that progress can be reported between them and
a stop request (Ctrl-C) leaves the rest unsent. Which list parameter carries the
items, and whether a call may be repeated, is the registry's (``functions.py``).

Writes are all-or-nothing per call (``is_whole_call`` in the registry; docs/moodle.md,
"All-or-nothing batches"). A chunk rejected for a reason that can belong to one item
(``invalidparameter`` for a group add of a user who is not enrolled, ``invaliduser``,
``errorremovenotpermitted``, …) is bisected to isolate the bad items, and the rest
is applied; a ``Budget`` caps the extra calls. Errors that say nothing about any one
item (transport, token, permissions, bad answers) are never bisected.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from plutoctl.errors import (
    AccessDeniedError,
    BadResponseError,
    InvalidTokenError,
    LmsError,
    PermissionDeniedError,
    RedirectRefusedError,
    TransportError,
    WebServiceDisabledError,
)
from plutoctl.lms.client import SiteClient
from plutoctl.lms.functions import function, is_bisectable, items_per_call, list_key

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
    RedirectRefusedError,  # a site that moved: every call of the batch goes the same way
)


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
class Sent:
    """A ``send`` result plus the values successful calls returned, in order."""

    result: WriteResult
    returned: tuple[Any, ...] = ()


Inspect = Callable[[Sequence[Item], Any], tuple[ItemError, ...]]
"""Reads a successful call's answer for items it did not keep (per-item warnings)."""


@dataclass(frozen=True)
class _Call:
    """What every call of one ``send`` shares."""

    function: str
    list_key: str
    retry_safe: bool
    inspect: Inspect | None


# --- the sender ---------------------------------------------------------------------


class Sender:
    """Sends write items to one site and says, item by item, what came of them."""

    def __init__(
        self,
        client: SiteClient,
        *,
        budget: Budget | None = None,
        on_items: Callable[[int], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.client = client
        self.budget = budget if budget is not None else Budget()
        self._on_items = on_items or (lambda n: None)
        self._stop = stop if stop is not None else threading.Event()

    def send(
        self,
        name: str,
        items: Sequence[Item],
        *,
        inspect: Inspect | None = None,
        is_bisected: bool = True,
    ) -> Sent:
        """Send ``items`` of ``name`` in exact chunks; bisect chunks rejected for an item's sake."""
        call = _Call(name, list_key(name), function(name).is_retry_safe, inspect)
        is_bisected = is_bisected and is_bisectable(name)
        total = Sent(WriteResult())
        for batch in self._superbatches(name, items):
            if self._stop.is_set():
                total = _join(total, Sent(WriteResult(unsent=tuple(batch))))
                continue
            chunks = self.client.call_chunked(
                name,
                call.list_key,
                [i.payload for i in batch],
                retry_safe=call.retry_safe,
                stop=self._stop,
            )
            lookup = _ItemLookup(batch)
            sent = len(batch)
            for chunk in chunks:
                chunk_items = lookup.find(chunk.items)
                if chunk.is_unsent:
                    total = _join(total, Sent(WriteResult(unsent=tuple(chunk_items))))
                    sent -= len(chunk_items)
                    continue
                calls = WriteResult(calls_by_subject=_count_subjects(chunk_items))
                if chunk.error is None:
                    outcome = _accepted(chunk_items, chunk.result, inspect)
                elif is_bisected:
                    outcome = self._isolate(call, chunk_items, chunk.error, is_known_bad=True)
                else:
                    outcome = Sent(WriteResult(failed=error_of(chunk_items, chunk.error)))
                total = _join(total, Sent(calls), outcome)
            self._on_items(sent)
        return total

    def _superbatches(self, name: str, items: Sequence[Item]) -> Iterable[Sequence[Item]]:
        """Yield runs of whole chunks, so progress can be shown without extra calls."""
        max_vars = getattr(self.client, "max_input_vars", None)
        parallelism = int(getattr(self.client, "parallelism", 1) or 1)
        if not isinstance(max_vars, int) or not items:
            yield items
            return
        size = items_per_call(name, max_vars) * parallelism * SUPERBATCH_CALLS
        for start in range(0, len(items), size):
            yield items[start : start + size]

    def _isolate(
        self, call: _Call, items: Sequence[Item], error: LmsError, *, is_known_bad: bool
    ) -> Sent:
        """Find the items that make an all-or-nothing call fail; apply the rest.

        ``items`` failed with ``error`` when ``is_known_bad``; otherwise they are
        tried first. Each half costs a call from the budget; when it runs out, what
        is left fails with the error that was last seen.
        """
        if not is_known_bad:
            if self._stop.is_set():  # Ctrl-C: no further call, the rest is unsent
                return Sent(WriteResult(unsent=tuple(items)))
            if not self.budget.take():
                return Sent(WriteResult(failed=error_of(items, error)))
            calls = Sent(WriteResult(calls_by_subject=_count_subjects(items)))
            try:
                result = self.client.call(
                    call.function,
                    {call.list_key: [i.payload for i in items]},
                    retry_safe=call.retry_safe,
                )
            except LmsError as exc:
                error = exc
            else:
                return _join(calls, _accepted(items, result, call.inspect))
            if len(items) == 1 or isinstance(error, _WHOLE_CALL_ERRORS):
                return _join(calls, Sent(WriteResult(failed=error_of(items, error))))
            return _join(calls, self._split(call, items, error))
        if len(items) == 1 or isinstance(error, _WHOLE_CALL_ERRORS):
            return Sent(WriteResult(failed=error_of(items, error)))
        return self._split(call, items, error)

    def _split(self, call: _Call, items: Sequence[Item], error: LmsError) -> Sent:
        """Try each half. The right half is sent too when the left went through: a call
        may fail for its size rather than an item (a site whose max_input_vars is below
        the config's drops the variables past it), and its items would be blamed unsent."""
        mid = len(items) // 2
        first = self._isolate(call, items[:mid], error, is_known_bad=False)
        second = self._isolate(call, items[mid:], error, is_known_bad=False)
        return _join(first, second)


# --- helpers --------------------------------------------------------------------------


def error_of(items: Iterable[Item], exc: LmsError) -> tuple[ItemError, ...]:
    """Return one ItemError per item, all with ``exc``'s errorcode and reason."""
    code = exc.errorcode or type(exc).__name__
    return tuple(ItemError(item, code, exc.reason) for item in items)


def _count_subjects(items: Iterable[Item]) -> Counter[str]:
    return Counter({item.subject: 1 for item in items})


def _payload_key(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, default=str)


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


def _accepted(items: Sequence[Item], result: Any, inspect: Inspect | None) -> Sent:
    failed = inspect(items, result) if inspect else ()
    if not failed:
        return Sent(WriteResult(done=tuple(items)), returned=(result,))
    bad = {id(e.item) for e in failed}
    done = tuple(i for i in items if id(i) not in bad)
    return Sent(WriteResult(done=done, failed=failed), returned=(result,))


def _join(*parts: Sent) -> Sent:
    result = WriteResult()
    returned: tuple[Any, ...] = ()
    for part in parts:
        result += part.result
        returned += part.returned
    return Sent(result, returned)
