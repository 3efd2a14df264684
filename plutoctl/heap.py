"""How plutoctl keeps the cyclic garbage collector out of the way of its large builds.

Loading a large config and reading a large site make 100,000s to millions of small
objects that form no cycles (nodes, positions, rows, records, usernames). With the
default thresholds the collector walks all of them again and again while they are
made; reference counting frees nearly everything a run drops, so the collector is
paused while they are built (``rare_collection``).

Any part may use this; it imports nothing of plutoctl.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def rare_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block; inside a pause, do nothing more.

    What it saves, measured with ``benchmarks/plan_scale.py``: reading a 100,000-user,
    200-course site spent 12 of 21 s of CPU in the collector; ``plutoctl validate`` of
    its config (2 MB of YAML, 135,000 CSV rows) took 4.7 s of CPU with the collector
    running and 2.7 s with it paused. The few cycles a run makes wait for the
    collector to run again after the block.

    On the way out everything allocated in the block is moved to the oldest
    generation (``gc.freeze`` then ``gc.unfreeze``: two list splices), so that the
    first collection after it does not walk it all as young objects (0.8 s at the
    end of that plan, when the process is about to drop it anyway).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()
