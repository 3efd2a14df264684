"""How often and how patiently a call that may be repeated is retried (``SiteClient``
runs the loop; ``plutoctl.cli.options.retry_policy`` builds the run's policy)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["SAID_WAIT", "RetryPolicy"]

SAID_WAIT = 5.0
"""Seconds of a retry's wait from which the client logs it as a warning (shown without
--debug): a run silent for minutes looks hung."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a call that may be repeated.

    Delays grow as ``backoff * 2**n`` with jitter, never beyond ``max_backoff``; a
    ``Retry-After`` from the site is honoured up to ``max_backoff``. ``sleep`` waits
    out a delay: a test that is not about time passes one that returns at once
    (``RetryPolicy(sleep=lambda _s: None)``, or ``RetryPolicy.without_waiting()``),
    and every retry still happens, in the same order, with the same delays logged.
    """

    attempts: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    @classmethod
    def without_waiting(cls, attempts: int = 5) -> RetryPolicy:
        """Return a policy that retries as the default does but never sleeps."""
        return cls(attempts=attempts, sleep=lambda _seconds: None)

    def delay(self, failures: int, retry_after: float | None) -> float:
        """Return the seconds to wait after the ``failures``-th failed attempt."""
        if retry_after is not None:
            return min(self.max_backoff, max(0.0, retry_after))
        ceiling = min(self.max_backoff, self.backoff * 2 ** (failures - 1))
        return random.uniform(ceiling / 2, ceiling)
