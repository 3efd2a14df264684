"""Reading Pluto's bulk-add CSV files for ``members_csv`` (docs/config.md).

The header row must hold ``username``; ``cohort1``, ``cohort2``, … hold segment IDs.
Other columns (first name, email, …) are allowed and ignored, so the bulk-upload
file itself can be used. Commas and semicolons are both accepted (detected from the
header), as are a UTF-8 byte-order mark, CRLF line ends, blank lines and quoted
fields. Every problem cites ``file:line``.

The file is split into records by ``csvtable.read_csv_table``, which the segments CSV
reader (``segments_csv.py``) uses too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from plutoctl.config.csvtable import CsvTable, capped, read_csv_table
from plutoctl.config.usernames import (
    NormalisedCount,
    cleaned_if_valid,
    is_clean,
    php_trimmed,
    username_problem,
)
from plutoctl.errors import Position, Problem

_COHORT_COLUMN = re.compile(r"^cohort[0-9]+$")  # as Moodle's upload page matches them
# What Moodle's is_number() takes for an integer: (string)(int)$value === $value.
_MOODLE_NUMBER = re.compile(r"0|-?[1-9][0-9]{0,18}")
_NUMBER_START = frozenset("-0123456789")


class CsvRow(NamedTuple):
    """One data row: the username, the segment IDs its cohort columns name, its line.

    A named tuple, not a frozen dataclass: files run to 100,000s of rows, and a tuple
    is built in a third of the time.
    """

    username: str
    segments: tuple[str, ...]
    line: int


@dataclass(frozen=True, slots=True)
class CsvFile:
    """A parsed members CSV.

    ``has_segment_columns`` is False for a username-only file: then every row belongs
    to the segment that names the file.
    """

    shown_path: str
    rows: tuple[CsvRow, ...]
    has_segment_columns: bool
    problems: tuple[Problem, ...] = ()

    def position(self, line: int) -> Position:
        """Return the position of a line of this file."""
        return Position(self.shown_path, line)


def read_members_csv(path: Path, shown_path: str) -> CsvFile:
    """Read and check a members CSV; problems are returned, never raised."""
    table = read_csv_table(
        path, shown_path, empty_hint="start it with a header row: username,cohort1"
    )
    if isinstance(table, Problem):
        return CsvFile(shown_path, (), has_segment_columns=False, problems=(table,))
    return _parse(table)


def _parse(table: CsvTable) -> CsvFile:
    columns = list(table.columns)
    problem = _header_problem(columns, table.header_line, table.shown_path)
    if problem:
        return CsvFile(table.shown_path, (), has_segment_columns=False, problems=(problem,))
    rows, problems = _rows(table, columns)
    if not rows and not problems:
        # Most often an export that failed half way: read as it is, it would empty
        # every segment that reads it (removals a loose max_removals lets through).
        problem = Problem(
            Position(table.shown_path, table.header_line),
            "the file has a header row and no rows of members",
            hint="check the export that wrote it; to empty a segment on purpose, give it "
            "members: [] in the config instead",
        )
        return CsvFile(table.shown_path, (), has_segment_columns=False, problems=(problem,))
    has_segments = any(_COHORT_COLUMN.match(c) for c in columns)
    segment_like = [c for c in columns if _may_name_segments(c)]
    if segment_like and not has_segments:
        problems.insert(0, _segment_column_warning(segment_like[0], table))
    problems = capped(problems, table.shown_path)
    return CsvFile(table.shown_path, tuple(rows), has_segments, tuple(problems))


def _may_name_segments(column: str) -> bool:
    """Whether a column seems to say which segment each row is for: ``segment…``, or
    ``department``, where Pluto's older bulk-add format put each row's segment."""
    return column.startswith("segment") or column == "department"


def _segment_column_warning(column: str, table: CsvTable) -> Problem:
    """A column that seems to say which segment each row is for, but is not read so."""
    return Problem(
        Position(table.shown_path, table.header_line),
        f"column {column!r} is not read: a file says which segment each row is for in "
        "columns cohort1, cohort2, …; as it is, every row is a member of each segment that "
        "reads the file",
        hint=f"if {column!r} names each row's segment, rename it cohort1",
        is_warning=True,
    )


def _no_username_hint(columns: list[str]) -> str:
    """Say why a header that names a username column in some other way was not read."""
    first = columns[0] if columns else ""
    if "\t" in first and "username" in first.split("\t"):
        return "the file is separated by tabs; save it as CSV, separated by commas or semicolons"
    if first.startswith("sep="):
        return "remove the 'sep=' line Excel wrote first: the header row must come first"
    if first.lstrip("\ufeff") == "username":
        return "the file starts with two byte-order marks; save it again as 'CSV UTF-8'"
    return (
        "the first row must name the columns, e.g. username,cohort1 (comma or semicolon separated)"
    )


def _header_problem(columns: list[str], line: int, shown_path: str) -> Problem | None:
    position = Position(shown_path, line)
    if "username" not in columns:
        return Problem(
            position, "the header row has no 'username' column", hint=_no_username_hint(columns)
        )
    duplicates = sorted({c for c in columns if c and columns.count(c) > 1})
    if duplicates:
        return Problem(position, f"the header row repeats column {duplicates[0]!r}")
    # Read as another column, a misspelt cohort column would make the file one without
    # any: every row a member of every segment that reads it.
    misspelt = [c for c in columns if c.startswith("cohort") and not _COHORT_COLUMN.match(c)]
    if misspelt:
        return Problem(
            position,
            f"column {misspelt[0]!r} is not a cohort column: they are numbered cohort1, cohort2, …",
            hint=f"rename it cohort{len([c for c in columns if _COHORT_COLUMN.match(c)]) + 1}",
        )
    return None


def _rows(table: CsvTable, columns: list[str]) -> tuple[list[CsvRow], list[Problem]]:
    rows: list[CsvRow] = []
    problems: list[Problem] = []
    shown_path = table.shown_path
    username_at = columns.index("username")
    cohort_at = [i for i, c in enumerate(columns) if _COHORT_COLUMN.match(c)]
    checked = (username_at, *cohort_at)

    def row_like(fields: Sequence[str]) -> bool:  # a username where this file has them
        return bool(is_clean(php_trimmed(fields[username_at])))

    single_cohort = cohort_at[0] if len(cohort_at) == 1 else None
    normalised = NormalisedCount()
    unassigned, numbered = _Tally(), _Tally()
    width = len(columns)
    for record in table.records:
        # Only rows that may be malformed are looked at closely (no position or call per
        # clean row): files run to 100,000s of rows.
        if len(record.fields) != width or record.last_line != record.line:
            shape = table.row_problem(record, checked, row_like=row_like)
            if shape:
                problems.append(shape)
                continue
        fields = record.fields
        username = fields[username_at]
        if not is_clean(username):  # written as Moodle stores it, the usual case: kept as is
            cleaned = _cleaned_username(username, record.line, shown_path, normalised, problems)
            if cleaned is None:
                continue
            username = cleaned
        if single_cohort is None:
            segments = tuple([f for f in [fields[i].strip() for i in cohort_at] if f])
        else:
            segment = fields[single_cohort].strip()
            segments = (segment,) if segment else ()
        if cohort_at and not segments:
            unassigned.note(record.line)
        for segment in segments:
            if segment[:1] in _NUMBER_START and _is_moodle_number(segment):  # first: cheap
                numbered.note(record.line, segment)
                break
        rows.append(CsvRow(username, segments, record.line))
    warnings = [
        normalised.warning(shown_path),
        _unassigned_warning(unassigned, shown_path),
        _numbered_warning(numbered, shown_path),
    ]
    return rows, problems + [w for w in warnings if w]


@dataclass(slots=True)
class _Tally:
    """How many rows of a file are of one kind, and the line (and cell) of the first."""

    count: int = 0
    line: int = 0
    value: str = ""

    def note(self, line: int, value: str = "") -> None:
        self.count += 1
        if self.count == 1:
            self.line, self.value = line, value


def _unassigned_warning(unassigned: _Tally, shown_path: str) -> Problem | None:
    """Rows whose cohort cells are all empty join no segment: one warning for the file."""
    if not unassigned.count:
        return None
    return Problem(
        Position(shown_path, unassigned.line),
        f"{unassigned.count:,} row(s) name no segment in their cohort columns "
        f"(first at line {unassigned.line})",
        hint="write each row's segment ID in cohort1 (cohort2, … for more); a row for "
        "no segment can be removed",
        is_warning=True,
    )


def _cleaned_username(
    raw: str, line: int, shown_path: str, normalised: NormalisedCount, problems: list[Problem]
) -> str | None:
    """Return the username a row's field means, or None (its problem noted) if invalid."""
    username = cleaned_if_valid(raw)
    if username == raw:
        username = php_trimmed(raw)  # invalid: its error names what the file holds
    elif username != php_trimmed(raw):  # spaces around a field were always taken silently
        normalised.note(Position(shown_path, line), raw, username)
    bad = username_problem(username)
    if bad:
        problems.append(Problem(Position(shown_path, line), bad[0], hint=bad[1]))
        return None
    return username


def _is_moodle_number(value: str) -> bool:
    """Whether Moodle's upload reads a cohort cell as a database id rather than an ID."""
    if _MOODLE_NUMBER.fullmatch(value) is None:
        return False
    return -(2**63) <= int(value) < 2**63  # past these PHP's (int) saturates: not equal


def _numbered_warning(numbered: _Tally, shown_path: str) -> Problem | None:
    """Segment IDs that are whole numbers mean other segments to Pluto's own upload."""
    if not numbered.count:
        return None
    return Problem(
        Position(shown_path, numbered.line),
        f"{numbered.count:,} row(s) name a segment by a whole number (first at line "
        f"{numbered.line}: {numbered.value!r}): Pluto's own upload reads such a cell as a "
        "segment's database id, not its segment ID, so uploaded to Pluto this file means "
        "other segments; plutoctl reads it as the segment ID",
        hint="if this file is uploaded to Pluto too, give these segments IDs that are not "
        "whole numbers (e.g. 'y2024')",
        is_warning=True,
    )
