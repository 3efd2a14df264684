"""The loaded config: the validated model plus where everything came from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, overload

from plutoctl.config.input_files import locate
from plutoctl.config.schema import Config
from plutoctl.errors import Position, Problem

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class SourcedName:
    """A username named by the config, and where: a YAML list entry or a CSV row."""

    username: str
    position: Position
    source: Literal["members", "members_csv", "exclude"]


class CsvMembers(Sequence[SourcedName]):
    """The rows of a members CSV that name one segment, each a ``SourcedName`` made
    when it is read: files run to 100,000s of rows, and a message cites a few.

    Equal to any sequence of the same entries (a tuple of ``SourcedName`` included).
    """

    __slots__ = ("file", "lines", "usernames")

    def __init__(self, file: str, usernames: Sequence[str], lines: Sequence[int]) -> None:
        self.file = file
        self.usernames = usernames
        self.lines = lines

    def __len__(self) -> int:
        return len(self.usernames)

    @overload
    def __getitem__(self, index: int) -> SourcedName: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[SourcedName]: ...

    def __getitem__(self, index: int | slice) -> SourcedName | Sequence[SourcedName]:
        if isinstance(index, slice):
            return CsvMembers(self.file, self.usernames[index], self.lines[index])
        position = Position(self.file, self.lines[index])
        return SourcedName(self.usernames[index], position, "members_csv")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return tuple(self) == tuple(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(tuple(self))


def usernames_of(entries: Sequence[SourcedName]) -> Sequence[str]:
    """Return the usernames of ``entries``, making no entry of a ``CsvMembers``."""
    if isinstance(entries, CsvMembers):
        return entries.usernames
    return [entry.username for entry in entries]


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
    csv_members: Mapping[str, Sequence[SourcedName]] = field(default_factory=dict)
    warnings: tuple[Problem, ...] = ()

    @property
    def base_dir(self) -> Path:
        """Return the directory config paths are relative to."""
        return self.path.parent

    def resolve(self, relative: str) -> Path:
        """Return a config-relative path as an absolute one (FileRefusedError: see locate)."""
        return locate(self.base_dir, relative)

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
