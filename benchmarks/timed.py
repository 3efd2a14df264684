"""What the benchmarks that time plutoctl processes share.

``compile_plutoctl``: byte-compile the plutoctl package a benchmark times, as ``pip
install`` does. An installed plutoctl starts from compiled bytecode. A source tree
run with ``PYTHONDONTWRITEBYTECODE`` set (as some CI images and containers do) never
writes any, so every plutoctl process would compile its 100-odd modules again (about
0.3 s of CPU) and the figures would show a cost no installed plutoctl pays.
"""

from __future__ import annotations

import compileall
import resource
from pathlib import Path

import plutoctl


def compile_plutoctl(tree: Path | None = None) -> None:
    """Write the ``__pycache__`` of ``tree``'s plutoctl package (default: this one's)."""
    package = tree / "plutoctl" if tree is not None else Path(plutoctl.__file__).parent
    compileall.compile_dir(package, quiet=1)


def children_cpu() -> float:
    """Return the CPU seconds (user and system) of the child processes waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
