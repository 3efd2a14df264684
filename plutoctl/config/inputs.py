"""Digests of the files a plan is made from: the config file and every CSV it reads.

A saved plan records them (``basis.inputs``) and ``apply PLAN`` refuses the plan when
any differs, so a plan is never applied under a config other than its own.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from plutoctl.config.loaded import LoadedConfig

CONFIG_KEY = "config"
UNREADABLE = "unreadable"


def input_files(loaded: LoadedConfig) -> dict[str, Path]:
    """Return the files the config reads, keyed ``config`` and by each CSV path as named.

    The CSV files are those of ``segments_csv`` and of every ``members_csv``.
    """
    files = {CONFIG_KEY: loaded.path}
    for relative in loaded.config.segments_csv:
        files[relative] = loaded.resolve(relative)
    for segment in loaded.config.segments.values():
        if segment.members_csv is not None:
            files[segment.members_csv] = loaded.resolve(segment.members_csv)
    return files


def input_digests(loaded: LoadedConfig) -> tuple[tuple[str, str], ...]:
    """Return ``(key, sha256 hex)`` for every input file, sorted by key."""
    return tuple((key, file_digest(path)) for key, path in sorted(input_files(loaded).items()))


def file_digest(path: Path) -> str:
    """Return the SHA-256 hex digest of a file's bytes, or ``unreadable``."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return UNREADABLE
