"""Fault injection: added latency, HTTP error statuses and dropped connections.

Each ``inject`` adds a rule. For every call the server asks ``decide`` which rules
fire: a rule matches a call by function name and write-ness, then fires on its Nth
matching call (``nth``) or at random with probability ``rate`` (a seeded RNG, so a
test can make a run repeatable), at most ``times`` times. Latency rules all add up;
of the status and drop rules, the first that fires decides the answer.

``drop`` with ``after_write=False`` (the default) closes the connection before the
call runs: nothing happened on the site. With ``after_write=True`` the call runs and
commits first, then the connection closes without an answer: the site did the work
but the client never heard.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

KINDS = ("latency", "status", "drop")


@dataclass
class Fault:
    """One injected fault rule (mutable counters, guarded by the injector's lock)."""

    kind: str
    rate: float = 1.0
    function: str | None = None
    writes_only: bool = False
    nth: int | None = None
    times: int | None = None
    status: int = 503
    retry_after: float | None = None
    seconds: float = 0.0
    after_write: bool = False
    matched: int = field(default=0, init=False)
    fired: int = field(default=0, init=False)

    def matches(self, function: str | None, *, is_write: bool) -> bool:
        """Return whether this rule applies to a call of ``function``."""
        if self.function is not None and function != self.function:
            return False
        return not (self.writes_only and not is_write)


@dataclass(frozen=True)
class Decision:
    """What the server must do to one call: sleep, then answer normally or fail."""

    latency: float = 0.0
    failure: Fault | None = None


class FaultInjector:
    """The set of fault rules of one sandbox (thread-safe)."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rules: list[Fault] = []
        self._rng = random.Random(seed)

    def seed(self, value: int) -> None:
        """Reseed the random source that ``rate`` draws from."""
        with self._lock:
            self._rng.seed(value)

    def inject(
        self,
        kind: str,
        rate: float = 1.0,
        function: str | None = None,
        *,
        writes_only: bool = False,
        nth: int | None = None,
        times: int | None = None,
        status: int = 503,
        retry_after: float | None = None,
        seconds: float = 0.0,
        after_write: bool = False,
    ) -> Fault:
        """Add a fault rule and return it (its ``fired`` count is readable)."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {KINDS}")
        rule = Fault(
            kind,
            rate,
            function,
            writes_only,
            nth,
            times,
            status,
            retry_after,
            seconds,
            after_write,
        )
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every fault rule."""
        with self._lock:
            self._rules.clear()

    def decide(self, function: str | None, *, is_write: bool) -> Decision:
        """Return what to do to this call, counting it against every matching rule."""
        latency, failure = 0.0, None
        with self._lock:
            for rule in self._rules:
                if not rule.matches(function, is_write=is_write) or not self._fires(rule):
                    continue
                if rule.kind == "latency":
                    latency += rule.seconds
                elif failure is None:
                    failure = rule
        return Decision(latency, failure)

    def _fires(self, rule: Fault) -> bool:
        rule.matched += 1
        if rule.times is not None and rule.fired >= rule.times:
            return False
        hit = rule.matched == rule.nth if rule.nth is not None else self._rng.random() < rule.rate
        if hit:
            rule.fired += 1
        return hit
