"""Check the ``members_csv`` files: read each once, give each segment the rows naming it."""

from __future__ import annotations

import os
from array import array
from pathlib import Path

from plutoctl.config.csvfile import CsvFile, CsvRow, read_members_csv
from plutoctl.config.input_files import FileRefusedError, locate
from plutoctl.config.loaded import CsvMembers
from plutoctl.config.parts import Parts
from plutoctl.config.recorder import Recorder, did_you_mean
from plutoctl.errors import Problem


def check_members_csv(rec: Recorder, parts: Parts) -> dict[str, CsvMembers]:
    """Return each segment's members from its CSV file; record the files' problems."""
    return _MembersCsv(rec, parts).check()


class _MembersCsv:
    """The CSV files read so far, which segments read each, and their rows by segment."""

    def __init__(self, rec: Recorder, parts: Parts) -> None:
        self.rec = rec
        self.parts = parts
        self.files: dict[Path, CsvFile] = {}
        self.readers: dict[Path, set[str]] = {}
        # Rows of each file by the segment IDs they name, built once per file: a file
        # shared by many segments would otherwise be scanned once per segment.
        self.rows_by_segment: dict[int, dict[str, list[CsvRow]]] = {}

    def check(self) -> dict[str, CsvMembers]:
        members: dict[str, CsvMembers] = {}
        for segment_id, segment in self.parts.segments.items():
            relative = segment.members_csv
            if relative is None or not relative.strip():  # empty: an error of its own
                continue
            csv_file = self._read(segment_id, relative)
            if csv_file is None:
                continue
            members[segment_id] = self._rows_for(segment_id, csv_file)
            if not members[segment_id] and not csv_file.problems:
                self.rec.warn(
                    ("segments", segment_id, "members_csv"),
                    f"no row of {csv_file.shown_path} names this segment",
                )
        for path, csv_file in self.files.items():
            if csv_file.has_segment_columns:
                self._check_segment_names(csv_file, self.readers[path])
            elif len(self.readers[path]) > 1 and csv_file.rows:
                self._warn_shared(csv_file, self.readers[path])
        return members

    def _warn_shared(self, csv_file: CsvFile, readers: set[str]) -> None:
        """A file without cohort columns gives every row to each segment reading it."""
        first, *others = [sid for sid in self.parts.segments if sid in readers]
        for segment_id in others:
            self.rec.warn(
                ("segments", segment_id, "members_csv"),
                f"{csv_file.shown_path} has no cohortN column, so every row of it is a member "
                f"of this segment and of {first!r} alike",
                hint="if the file says which segment each row is for, name that column "
                "cohort1 (cohort2, … for more)",
            )

    def _read(self, segment_id: str, relative: str) -> CsvFile | None:
        try:
            path = locate(self.rec.base_dir, relative)
        except FileRefusedError as exc:
            self.rec.error(("segments", segment_id, "members_csv"), exc.message, exc.hint)
            return None
        shown = os.path.normpath(os.path.join(os.path.dirname(self.rec.shown_path), relative))
        if path not in self.files:
            if path.is_dir():
                self.rec.error(
                    ("segments", segment_id, "members_csv"),
                    f"members_csv {relative!r} is a directory, not a CSV file",
                    "name the CSV file itself (paths are relative to the config file)",
                )
                return None
            if not path.exists():
                self.rec.error(
                    ("segments", segment_id, "members_csv"),
                    f"CSV file {relative!r} not found",
                    self.rec.relative_hint(relative),
                )
                return None
            self.files[path] = read_members_csv(path, shown)
            self.readers[path] = set()
            self.rec.problems.extend(self.files[path].problems)
        self.readers[path].add(segment_id)
        return self.files[path]

    def _rows_for(self, segment_id: str, csv_file: CsvFile) -> CsvMembers:
        usernames: list[str] = []
        lines = array("l")
        first_line: dict[str, int] = {}
        rows = csv_file.rows
        if csv_file.has_segment_columns:
            rows = tuple(self._index(csv_file).get(segment_id, ()))
        shown = csv_file.shown_path
        for row in rows:
            if row.username in first_line:
                self.rec.problems.append(
                    Problem(
                        csv_file.position(row.line),
                        f"{row.username!r} is listed twice for segment {segment_id!r} "
                        f"(first at line {first_line[row.username]})",
                        is_warning=True,
                    )
                )
                continue
            first_line[row.username] = row.line
            usernames.append(row.username)
            lines.append(row.line)
        return CsvMembers(shown, tuple(usernames), lines)

    def _index(self, csv_file: CsvFile) -> dict[str, list[CsvRow]]:
        """Return the file's rows by segment ID, in file order (built on first use)."""
        index = self.rows_by_segment.get(id(csv_file))  # files live as long as self
        if index is None:
            index = {}
            for row in csv_file.rows:
                segments = row.segments
                if len(segments) == 1:  # one cohort column, the usual file
                    index.setdefault(segments[0], []).append(row)
                    continue
                for segment_id in dict.fromkeys(segments):
                    index.setdefault(segment_id, []).append(row)
            self.rows_by_segment[id(csv_file)] = index
        return index

    def _check_segment_names(self, csv_file: CsvFile, readers: set[str]) -> None:
        """Flag rows naming undeclared segments, and segments that do not read the file."""
        ignored: dict[str, int] = {}
        declared = set(self.parts.segment_names)  # a set: files can have 100,000s of rows
        for row in csv_file.rows:
            for segment_id in row.segments:
                if segment_id not in declared:
                    hint = did_you_mean(segment_id, self.parts.segment_names, "declared segments")
                    self.rec.problems.append(
                        Problem(
                            csv_file.position(row.line),
                            f"unknown segment {segment_id!r}: the config does not declare it",
                            hint=hint,
                        )
                    )
                elif segment_id not in readers:
                    ignored.setdefault(segment_id, row.line)
        for segment_id, line in ignored.items():
            self.rec.problems.append(
                Problem(
                    csv_file.position(line),
                    f"rows for segment {segment_id!r} are ignored: "
                    "its members_csv is not this file",
                    hint=f"add members_csv to segments.{segment_id} to use them",
                    is_warning=True,
                )
            )
