"""The plutoctl process itself: it ends as soon as the command has done its work.

``plutoctl.cli.run`` (the program) marks the process as ending right after ``main``
and then leaves without freeing anything. A command calls ``hold`` with the large
values it made (the read state of every site, the plan), so that they are not freed
one by one as it returns either: millions of small objects on a large site, tenths
of a second of CPU for memory the process is about to give back whole. Where
``main`` is called in-process (tests, other programs) nothing is held.
"""

from __future__ import annotations

import signal
from types import FrameType

_held: list[object] = []
_is_ending = False


def end_after_main() -> None:
    """Say that the process ends when ``main`` returns (``plutoctl.cli.run``)."""
    global _is_ending
    _is_ending = True


def stop_on_terminate() -> None:
    """Take SIGTERM as Ctrl-C: what a CI system sends a job it cancels or times out
    (GitLab, and GitHub after its Ctrl-C), and a container runtime a container it stops.

    An apply then stops sending, lets the calls in flight finish, and reports what it
    did and did not do (``--report`` included), as after a first Ctrl-C; a second
    signal ends it at once. Left to the default, the process died mid-batch, with no
    report, its output cut short.
    """
    signal.signal(signal.SIGTERM, _as_ctrl_c)


def _as_ctrl_c(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def hold(*values: object) -> None:
    """Keep ``values`` until the process ends, if it ends right after ``main``."""
    if _is_ending:
        _held.extend(values)


def held() -> tuple[object, ...]:
    """Return what is held (for tests)."""
    return tuple(_held)
