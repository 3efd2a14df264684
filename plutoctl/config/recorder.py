"""Recording config problems: each at its position, worded the same way by every check."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from plutoctl.config.loaded import KeyPath
from plutoctl.config.positions import with_more
from plutoctl.config.schema_errors import dotted, nearest
from plutoctl.errors import Position, Problem


class Recorder:
    """Collect problems, none raised, so that ``validate`` can report them all at once."""

    def __init__(self, positions: Mapping[KeyPath, Position], shown: str, base: Path) -> None:
        self.positions = positions
        self.shown_path = shown
        self.base_dir = base
        self.problems: list[Problem] = []

    def add_positions(self, positions: Mapping[KeyPath, Position]) -> None:
        """Take more positions (those of rows that declared part of the config)."""
        self.positions = with_more(self.positions, positions)

    def at(self, path: KeyPath) -> Position:
        return nearest(self.positions, path, self.shown_path)

    def error(self, path: KeyPath, message: str, hint: str | None = None) -> None:
        where = f"{dotted(path)}: " if path else ""
        self.problems.append(Problem(self.at(path), f"{where}{message}", hint=hint))

    def warn(self, path: KeyPath, message: str, hint: str | None = None) -> None:
        where = f"{dotted(path)}: " if path else ""
        self.problems.append(
            Problem(self.at(path), f"{where}{message}", hint=hint, is_warning=True)
        )

    def relative_hint(self, path: str = "") -> str:
        """Say where a path that names no file was looked for (and mend a Windows one)."""
        folder = os.path.dirname(self.shown_path) or "."
        if "\\" in path:
            return f"write paths with / (as {path.replace(chr(92), '/')}), relative to {folder}"
        return f"paths are relative to the config file's folder ({folder})"


def did_you_mean(name: str, known: Iterable[str], what: str) -> str | None:
    """Return a hint naming the closest known name, or the few known ones, or None.

    A name that differs only in case is named first: difflib weighs each capital as a
    wrong character, and would name another that is closer to the letter.
    """
    known = list(known)
    folded = name.casefold()
    same = next((k for k in known if k.casefold() == folded), None)
    if same is not None:
        return f"did you mean {same!r}? Case matters: {what} are matched exactly"
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    if known and len(known) <= 12:
        return f"{what}: " + ", ".join(known)
    return None
