"""Apply progress on stderr: a bar on a terminal, plain lines otherwise (CI logs).

Every line starts with the time since apply started (``[  12.3s]``), so a CI log
shows where the time went. A step that ended with items failed or not sent says so
and never shows as complete: its bar stays short of full.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from plutoctl.apply.report import ProgressEvent

BAR_WIDTH = 24


def redraws(stream: TextIO) -> bool:
    """Return whether a bar may be redrawn in place: a terminal that is not ``TERM=dumb``."""
    return bool(getattr(stream, "isatty", lambda: False)()) and os.environ.get("TERM") != "dumb"


class ProgressPrinter:
    """Print apply progress events; safe to call from several threads.

    On a terminal one line is redrawn in place; elsewhere (and with ``TERM=dumb``) a
    line is written when a step starts, at every further tenth of it, and when it ends.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        is_tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.is_tty = redraws(self.stream) if is_tty is None else is_tty
        self._clock = clock
        self._start = clock()
        self._lock = threading.Lock()
        self._last_tenth: dict[tuple[str, int], int] = {}

    def __call__(self, event: ProgressEvent) -> None:
        with self._lock:
            if self.is_tty:
                self._draw(event)
            else:
                self._log(event)
            self.stream.flush()

    def _elapsed(self) -> str:
        return f"[{self._clock() - self._start:6.1f}s]"

    def _draw(self, event: ProgressEvent) -> None:
        filled = BAR_WIDTH * event.done // event.total if event.total else BAR_WIDTH
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        end = "\n" if event.ended or event.done >= event.total else ""
        self.stream.write(f"\r\x1b[2K{self._elapsed()} [{bar}] {event}{end}")

    def _log(self, event: ProgressEvent) -> None:
        key = (event.site, int(event.step))
        tenth = 10 * event.done // event.total if event.total else 10
        final = event.ended or event.done >= event.total
        if key in self._last_tenth and tenth == self._last_tenth[key] and not final:
            return
        if final and self._last_tenth.get(key) == -1:
            return  # the end was already written
        self._last_tenth[key] = -1 if final else tenth
        self.stream.write(f"  {self._elapsed()} {event}\n")
