"""Apply progress on stderr: a bar on a terminal, plain lines otherwise (CI logs)."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from plutoctl.apply import ProgressEvent

BAR_WIDTH = 24


class ProgressPrinter:
    """Print apply progress events; safe to call from several threads.

    On a terminal one line is redrawn in place; elsewhere a line is written when a
    step starts, at every further tenth of it, and when it ends.
    """

    def __init__(self, stream: TextIO | None = None, *, is_tty: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.is_tty = self.stream.isatty() if is_tty is None else is_tty
        self._lock = threading.Lock()
        self._last_tenth: dict[tuple[str, int], int] = {}

    def __call__(self, event: ProgressEvent) -> None:
        with self._lock:
            if self.is_tty:
                self._draw(event)
            else:
                self._log(event)
            self.stream.flush()

    def _draw(self, event: ProgressEvent) -> None:
        filled = BAR_WIDTH * event.done // event.total if event.total else BAR_WIDTH
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        end = "\n" if event.done >= event.total else ""
        self.stream.write(f"\r\x1b[2K[{bar}] {event}{end}")

    def _log(self, event: ProgressEvent) -> None:
        key = (event.site, int(event.step))
        tenth = 10 * event.done // event.total if event.total else 10
        if key in self._last_tenth and tenth == self._last_tenth[key] and event.done < event.total:
            return
        self._last_tenth[key] = tenth
        self.stream.write(f"  {event}\n")
