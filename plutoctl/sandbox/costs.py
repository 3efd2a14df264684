"""The sandbox's cost model: answer each call as slowly as a real Moodle would.

Off by default (the sandbox answers at once). With ``--cost-model moodle`` (or
``PLUTOCTL_SANDBOX_COST_MODEL=moodle`` for ``sandbox:`` URLs) every call takes the
server time ``plutoctl.lms.functions`` gives for it: a fixed cost plus a cost per item (users
listed, per field asked for; users looked up; members read or written), and the site
serves calls as a processor-shared server whose throughput with ``k`` calls in
flight is ``speedup(k)`` times one stream's (2–4 in flight give 2.5–3×, more give
nothing).

The sandbox's own work on a call runs while its modelled time passes, so a call
takes the longer of the two.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from plutoctl.errors import SandboxError
from plutoctl.lms.functions import ENROLLED_USERS, call_seconds, speedup

COST_MODEL_ENV = "PLUTOCTL_SANDBOX_COST_MODEL"
"""Environment variable that turns the cost model on for ``sandbox:`` URLs."""

MODELS = ("moodle",)

DEFAULT_USERFIELDS = (
    "id",
    "username",
    "firstname",
    "lastname",
    "fullname",
    "email",
    "suspended",
    "customfields",
    "roles",
    "groups",
)
"""What ``core_enrol_get_enrolled_users`` returns when no ``userfields`` is asked for."""

# Functions whose cost grows with what they answer, and how to count it.
_Counter = Callable[[Any], int]


def _length(answer: Any) -> int:
    return len(answer) if isinstance(answer, list) else 0


def _members(answer: Any) -> int:
    if not isinstance(answer, list):
        return 0
    return sum(len(entry.get("userids", ())) for entry in answer if isinstance(entry, dict))


def _under(key: str) -> _Counter:
    def count(answer: Any) -> int:
        return _length(answer.get(key)) if isinstance(answer, dict) else 0

    return count


ANSWER_ITEMS: Mapping[str, _Counter] = {
    ENROLLED_USERS: _length,
    "core_user_get_users": _under("users"),
    "core_cohort_get_cohorts": _length,
    "core_cohort_search_cohorts": _under("cohorts"),
    "core_cohort_get_cohort_members": _members,
    "core_group_get_group_members": _members,
}


def model_named(name: str | None) -> CostModel | None:
    """Return the cost model called ``name`` (None or "" or "none": no model)."""
    if not name or name == "none":
        return None
    if name not in MODELS:
        raise SandboxError(
            f"unknown cost model {name!r}", hint=f"use one of: {', '.join(MODELS)}, none"
        )
    return CostModel()


def model_from_environment() -> CostModel | None:
    """Return the cost model ``PLUTOCTL_SANDBOX_COST_MODEL`` names, if any."""
    return model_named(os.environ.get(COST_MODEL_ENV, "").strip().lower())


def demand(function: str | None, request: Mapping[str, Any], body: bytes) -> float:
    """Return one stream's server seconds for a call and its answer."""
    if function is None:
        return call_seconds("", 0)
    counter = ANSWER_ITEMS.get(function)
    if counter is None:
        return call_seconds(function, _request_items(request))
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if isinstance(answer, dict) and "exception" in answer:
        return call_seconds(function, 0)
    fields: tuple[str, ...] = ()
    if function == ENROLLED_USERS:
        fields = _userfields(request)
    return call_seconds(function, counter(answer), fields=fields)


def _request_items(request: Mapping[str, Any]) -> int:
    """Count the items of a call's list parameter (``members``, ``values``, ...)."""
    lists = [
        value for key, value in request.items() if isinstance(value, dict) and key != "options"
    ]
    return max((len(value) for value in lists), default=0)


def _userfields(request: Mapping[str, Any]) -> tuple[str, ...]:
    options = request.get("options")
    if isinstance(options, dict):
        for option in options.values():
            if isinstance(option, dict) and option.get("name") == "userfields":
                value = str(option.get("value", ""))
                return tuple(name.strip() for name in value.split(",") if name.strip())
    return DEFAULT_USERFIELDS


@dataclass(eq=False)  # compared by identity: two calls may have had the same service
class Job:
    """One call being served: the service it has had, and what it needs."""

    attained: float = 0.0
    demand: float | None = None  # unknown until the sandbox has built the answer


class CostModel:
    """A processor-shared server: ``k`` calls in flight share ``speedup(k)`` streams."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._changed = threading.Condition()
        self._jobs: list[Job] = []
        self._last = clock()
        self.seconds_by_function: dict[str, float] = {}
        """One stream's modelled server seconds per function, for benchmarks."""

    def arrive(self) -> Job:
        """Start a call's service: it shares the server from now on."""
        with self._changed:
            self._advance()
            job = Job()
            self._jobs.append(job)
            self._changed.notify_all()
            return job

    def finish(self, job: Job, seconds: float, function: str = "") -> None:
        """Wait until ``job`` has had ``seconds`` of one stream's service, then leave."""
        with self._changed:
            self._advance()
            job.demand = seconds
            spent = self.seconds_by_function.get(function, 0.0)
            self.seconds_by_function[function] = spent + seconds
            while job.attained < seconds:
                rate = self._rate()
                self._changed.wait((seconds - job.attained) / rate)
                self._advance()
            self._remove(job)

    def leave(self, job: Job) -> None:
        """End a call's service now (it failed before it had an answer)."""
        with self._changed:
            self._advance()
            self._remove(job)

    def _remove(self, job: Job) -> None:
        if job in self._jobs:
            self._jobs.remove(job)
        self._changed.notify_all()

    def _rate(self) -> float:
        """Return each call's share of the server: one stream's speed × this."""
        count = len(self._jobs)
        return speedup(count) / count if count else 1.0

    def _advance(self) -> None:
        now = self._clock()
        elapsed = now - self._last
        self._last = now
        if elapsed <= 0 or not self._jobs:
            return
        gained = elapsed * self._rate()
        for job in self._jobs:
            job.attained += gained
