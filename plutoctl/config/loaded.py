"""The loaded config: the validated model plus where everything came from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from plutoctl.config.schema import Config
from plutoctl.errors import Position, Problem

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class SourcedName:
    """A username named by the config, and where: a YAML list entry or a CSV row."""

    username: str
    position: Position
    source: Literal["members", "members_csv", "exclude"]


@dataclass(frozen=True)
class LoadedConfig:
    """A config that passed validation.

    ``positions`` maps key paths such as ``("segments", "dept-sales", "members", 0)``
    to where that value stands in the YAML file. ``csv_members`` maps each segment
    ID to the CSV rows that name it. ``warnings`` are problems that do not stop a run.
    """

    config: Config
    path: Path
    positions: Mapping[KeyPath, Position] = field(default_factory=dict)
    csv_members: Mapping[str, tuple[SourcedName, ...]] = field(default_factory=dict)
    warnings: tuple[Problem, ...] = ()

    @property
    def base_dir(self) -> Path:
        """Return the directory config paths are relative to."""
        return self.path.parent

    def resolve(self, relative: str) -> Path:
        """Return a config-relative path as an absolute one."""
        return (self.base_dir / relative).resolve()

    def position_of(self, *key_path: str | int) -> Position:
        """Return the position of a key path, or of its nearest known ancestor."""
        path: KeyPath = tuple(key_path)
        while path:
            if path in self.positions:
                return self.positions[path]
            path = path[:-1]
        return Position(str(self.path))

    def named_members(self, segment: str) -> tuple[SourcedName, ...]:
        """Return the usernames a segment's ``members`` list names, with positions."""
        seg = self.config.segments[segment]
        return tuple(
            SourcedName(name, self.position_of("segments", segment, "members", i), "members")
            for i, name in enumerate(seg.members)
        )

    def named_excludes(self, segment: str) -> tuple[SourcedName, ...]:
        """Return the usernames a segment's ``exclude`` list names, with positions."""
        seg = self.config.segments[segment]
        return tuple(
            SourcedName(name, self.position_of("segments", segment, "exclude", i), "exclude")
            for i, name in enumerate(seg.exclude)
        )
