"""Merge the segments that ``segments_csv`` files declare into the config's segments.

This runs on the plain data, before the schema check, so a CSV-declared segment is
a segment like any other from then on: ``defaults``, ``sites``, ``policy``,
``protected``, groups and enrolments all see it. How the two sources combine:

- A CSV row declares a segment: its ID, its name, and its description and
  visibility when those cells are not empty.
- A YAML entry with the same ID adds to it (``members``, ``members_csv``, ``rules``,
  ``exclude``, ``membership``, ``protected``, ``sites``, and ``description`` or
  ``visible`` when the row leaves them empty). It has no ``name``: a YAML name means
  the segment is declared twice, which is an error citing both places; so is any
  field both state.
- The same ID in two rows, of one file or of two, is an error citing both rows.

Positions of CSV-declared values point at their row, so later checks and the plan
cite ``file.csv:line``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plutoctl.config.input_files import FileRefusedError, locate
from plutoctl.config.loaded import KeyPath
from plutoctl.config.schema_errors import dotted, nearest
from plutoctl.config.segments_csv import CsvSegment, read_segments_csv
from plutoctl.errors import Position, Problem

KEY = "segments_csv"


@dataclass
class MergedSegments:
    """The config data with CSV-declared segments merged in, and what was found.

    ``declared`` are the IDs that CSV rows declare; ``positions`` the positions of
    the keys the merge added.
    """

    data: dict[str, Any]
    declared: frozenset[str] = frozenset()
    positions: dict[KeyPath, Position] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def csv_paths(value: object) -> list[tuple[KeyPath, str]]:
    """Return the ``segments_csv`` paths with their key paths, numbers as text (as the
    schema takes them); other types give none: the schema check reports them."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return [((KEY,), str(value))]
    if isinstance(value, list):
        return [
            ((KEY, i), str(item))
            for i, item in enumerate(value)
            if isinstance(item, str | int | float) and not isinstance(item, bool)
        ]
    return []


def merge_segments_csv(
    data: dict[str, Any], positions: Mapping[KeyPath, Position], shown_path: str, base_dir: Path
) -> MergedSegments:
    """Read every ``segments_csv`` file and merge its segments into ``data``'s segments."""
    merger = _Merger(positions, shown_path)
    rows = merger.read_files(data.get(KEY), base_dir)
    yaml_segments = data.get("segments")
    if yaml_segments is None:
        yaml_segments = {}
    if not rows or not isinstance(yaml_segments, dict):
        return MergedSegments(data, frozenset(rows), merger.positions, merger.problems)
    merged = {str(k): v for k, v in yaml_segments.items()}
    for sid, row in rows.items():
        merged[sid] = merger.combine(sid, row, merged.get(sid, {}), in_yaml=sid in merged)
    return MergedSegments(
        {**data, "segments": merged}, frozenset(rows), merger.positions, merger.problems
    )


class _Merger:
    def __init__(self, positions: Mapping[KeyPath, Position], shown_path: str) -> None:
        self.yaml_positions = positions
        self.shown_path = shown_path
        self.positions: dict[KeyPath, Position] = {}
        self.problems: list[Problem] = []

    def at(self, path: KeyPath) -> Position:
        return nearest(self.yaml_positions, path, self.shown_path)

    def read_files(self, value: object, base_dir: Path) -> dict[str, CsvSegment]:
        """Return the segments of every file by ID, the first row of an ID winning."""
        rows: dict[str, CsvSegment] = {}
        seen: set[Path] = set()
        for path, relative in csv_paths(value):
            try:
                file = locate(base_dir, relative)
            except FileRefusedError as exc:
                message = f"{dotted(path)}: {exc.message}"
                self.problems.append(Problem(self.at(path), message, hint=exc.hint))
                continue
            if file in seen:
                message = f"{dotted(path)}: {relative!r} is listed twice"
                self.problems.append(Problem(self.at(path), message, is_warning=True))
                continue
            seen.add(file)
            if not relative.strip():
                message = f"{dotted(path)}: the file name is empty"
                hint = "name the CSV file (paths are relative to the config file)"
                self.problems.append(Problem(self.at(path), message, hint=hint))
                continue
            if file.is_dir():
                message = f"{dotted(path)}: {relative!r} is a directory, not a CSV file"
                hint = "name the CSV file itself (paths are relative to the config file)"
                self.problems.append(Problem(self.at(path), message, hint=hint))
                continue
            if not file.is_file():
                folder = os.path.dirname(self.shown_path) or "."
                self.problems.append(
                    Problem(
                        self.at(path),
                        f"{dotted(path)}: CSV file {relative!r} not found",
                        f"paths are relative to the config file's folder ({folder})",
                    )
                )
                continue
            shown = os.path.normpath(os.path.join(os.path.dirname(self.shown_path), relative))
            parsed = read_segments_csv(file, shown)
            self.problems.extend(parsed.problems)
            for row in parsed.segments:
                self._add(rows, row)
        return rows

    def _add(self, rows: dict[str, CsvSegment], row: CsvSegment) -> None:
        first = rows.get(row.idnumber)
        if first is None:
            rows[row.idnumber] = row
            return
        self.problems.append(
            Problem(
                row.position,
                f"segment ID {row.idnumber!r} is declared twice: here and at {first.position}",
                hint="each segment is declared by one row of one file; remove one of the two",
            )
        )

    def combine(self, sid: str, row: CsvSegment, entry: object, *, in_yaml: bool) -> object:
        """Return the YAML entry of ``sid`` with the row's fields added."""
        base: KeyPath = ("segments", sid)
        if not in_yaml:
            self.positions[base] = row.position
        if entry is None:
            entry = {}  # ``sid:`` with nothing under it
        if not isinstance(entry, dict):
            return entry  # the schema check reports the entry's type
        combined = dict(entry)
        for key, value in row.stated().items():
            if key in entry:
                self._conflict((*base, key), row)
                continue
            combined[key] = value
            self.positions[(*base, key)] = row.position
        return combined

    def _conflict(self, path: KeyPath, row: CsvSegment) -> None:
        if path[-1] == "name":
            message = f"segment {path[1]!r} is declared twice: here and at {row.position}"
            hint = (
                "declare it in one place; to add members, rules or exclusions to a "
                "segment from segments_csv, leave name out of its YAML entry"
            )
        else:
            message = f"{path[-1]} is stated twice: here and at {row.position}"
            hint = f"state it in one place: the CSV's {path[-1]} cell or this key"
        self.problems.append(Problem(self.at(path), f"{dotted(path)}: {message}", hint=hint))
