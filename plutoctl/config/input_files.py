"""Reading input files within bounds: regular files only, and no larger than a limit.

A config or CSV named by mistake (``-c /dev/zero``, a FIFO, a multi-gigabyte dump)
must be refused at once with a clear reason, not read until the machine runs out of
memory or a pipe blocks for ever. The limits are generous: a config naming 500,000
usernames is about 10 MB, a bulk CSV of a million rows about 60 MB.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from plutoctl.errors import PlutoError

MAX_CONFIG_BYTES = 64 * 1024 * 1024
"""Largest config file read (64 MiB)."""
MAX_CSV_BYTES = 256 * 1024 * 1024
"""Largest members CSV file read (256 MiB)."""
MAX_PLAN_BYTES = 256 * 1024 * 1024
"""Largest saved plan read (256 MiB)."""


class FileRefusedError(PlutoError):
    """An input file that is not a regular file, or is larger than its limit."""


def locate(base_dir: Path, relative: str) -> Path:
    """Return the absolute path of ``relative`` (to ``base_dir``), symbolic links followed.

    Raises FileRefusedError for a name no file can have (a NUL character) and for
    symbolic links that lead round in a loop, saying which path it is; a path that
    does not exist is returned as it is, for the caller to say so.
    """
    if "\0" in relative:
        raise FileRefusedError(
            f"{relative!r} holds a NUL character, which no file name can",
            hint="check the path for a stray escape sequence",
        )
    try:
        return (base_dir / relative).resolve()
    except (OSError, RuntimeError) as exc:  # a loop: RuntimeError before Python 3.13
        raise FileRefusedError(
            f"{relative!r} cannot be followed: its symbolic links lead round in a loop",
            hint=f"check the links on the way to {os.path.join(base_dir, relative)}",
        ) from exc


def read_bounded(path: Path, limit: int) -> bytes:
    """Return the bytes of the regular file ``path``, refusing one larger than ``limit``.

    Raises FileNotFoundError and other OSErrors as ``open`` does; FileRefusedError for
    a directory, a device, a FIFO or a socket (checked before opening, which would
    block on a FIFO), and for a file past the limit (read no further than it).
    """
    mode = path.stat().st_mode
    if stat.S_ISDIR(mode):
        raise FileRefusedError("is a directory, not a file", hint="name a file")
    if not stat.S_ISREG(mode):
        raise FileRefusedError(
            f"is not a regular file (it is a {_kind(mode)}); plutoctl reads only files",
            hint="name a file saved on disk; to read from a pipe, save its output first",
        )
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileRefusedError(
            f"is larger than {limit // (1024 * 1024)} MiB, the most plutoctl reads",
            hint="check that this is the right file; the limits are in docs/safety.md",
        )
    return data


def _kind(mode: int) -> str:
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISFIFO(mode):
        return "pipe"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"
