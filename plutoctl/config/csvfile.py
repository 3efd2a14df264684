"""Reading Pluto's bulk-add CSV files for ``members_csv`` (docs/config.md).

The header row must hold ``username``; ``cohort1``, ``cohort2``, … hold segment IDs.
Other columns (first name, email, …) are allowed and ignored, so the bulk-upload
file itself can be used. Commas and semicolons are both accepted (detected from the
header), as are a UTF-8 byte-order mark, CRLF line ends, blank lines and quoted
fields. Every problem cites ``file:line``.

A plain file (no quotes, carriage returns or blank lines; ``csvplain.py``), the usual
one, is split column by column; any other into records by ``csvtable``, which the
segments CSV reader (``segments_csv.py``) uses too. Both give the same ``CsvFile``.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import compress, repeat
from pathlib import Path
from typing import NamedTuple

from plutoctl.config.csvplain import FIRST_ROW_LINE, CsvColumns, plain_columns
from plutoctl.config.csvtable import CsvTable, capped, read_csv_text, split_csv_table
from plutoctl.config.usernames import (
    CLEAN_CHARS,
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
    """One data row: the username, the segment IDs its cohort columns name, its line."""

    username: str
    segments: tuple[str, ...]
    line: int


@dataclass(frozen=True, slots=True)
class CsvFile:
    """A parsed members CSV, kept column by column: files run to 100,000s of rows, and
    ``check_members_csv`` takes a segment's rows as slices of the columns, with no
    object made per row.

    ``cohorts`` holds each cohort column's cells, trimmed ("" for an empty one), row by
    row. A username-only file has none: then every row belongs to the segment that
    names the file.
    """

    shown_path: str
    usernames: tuple[str, ...] = ()
    lines: Sequence[int] = ()
    cohorts: tuple[Sequence[str], ...] = ()
    problems: tuple[Problem, ...] = ()

    @property
    def has_segment_columns(self) -> bool:
        """Whether the file has cohort columns, saying which segment each row is for."""
        return bool(self.cohorts)

    @property
    def rows(self) -> tuple[CsvRow, ...]:
        """Return the rows one by one (made on each call)."""
        return tuple(map(CsvRow, self.usernames, self.segments(), self.lines))

    def segments(self) -> Iterable[tuple[str, ...]]:
        """Return each row's segment IDs: its cohort cells that are not empty, in order."""
        if not self.cohorts:
            return repeat((), len(self.usernames))
        return (
            tuple([cell for cell in cells if cell]) for cells in zip(*self.cohorts, strict=True)
        )

    def position(self, line: int) -> Position:
        """Return the position of a line of this file."""
        return Position(self.shown_path, line)


def read_members_csv(path: Path, shown_path: str) -> CsvFile:
    """Read and check a members CSV; problems are returned, never raised."""
    text = read_csv_text(path, shown_path)
    if isinstance(text, Problem):
        return CsvFile(shown_path, problems=(text,))
    return parse_members_csv(text, shown_path)


def parse_members_csv(text: str, shown_path: str, *, allow_plain: bool = True) -> CsvFile:
    """Parse and check a members CSV's text; problems are returned, never raised.

    A plain file (``csvplain.py``) is read column by column unless ``allow_plain`` is
    False: then it is read record by record as any other, with the same result.
    """
    plain = plain_columns(text, "username", CLEAN_CHARS) if allow_plain else None
    if plain is not None:
        return _parse(plain, shown_path, 1)
    table = split_csv_table(
        text, shown_path, empty_hint="start it with a header row: username,cohort1"
    )
    if isinstance(table, Problem):
        return CsvFile(shown_path, problems=(table,))
    return _parse(table, shown_path, table.header_line)


@dataclass(slots=True)
class _Read:
    """The rows of a file kept so far, column by column, and its problems."""

    usernames: list[str]
    lines: Sequence[int]
    cohorts: tuple[list[str], ...]
    problems: list[Problem] = field(default_factory=list)
    normalised: NormalisedCount = field(default_factory=NormalisedCount)


def _parse(table: CsvTable | CsvColumns, shown_path: str, header_line: int) -> CsvFile:
    columns = list(table.columns)
    problem = _header_problem(columns, header_line, shown_path)
    if problem:
        return CsvFile(shown_path, problems=(problem,))
    if isinstance(table, CsvColumns):
        read = _plain_rows(table, columns, shown_path)
    else:
        read = _rows(table, columns)
    warnings = [
        read.normalised.warning(shown_path),
        _unassigned_warning(_unassigned(read), shown_path),
        _numbered_warning(_numbered(read), shown_path),
    ]
    problems = read.problems + [w for w in warnings if w]
    if not read.usernames and not problems:
        # Most often an export that failed half way: read as it is, it would empty
        # every segment that reads it (removals a loose max_removals lets through).
        problem = Problem(
            Position(shown_path, header_line),
            "the file has a header row and no rows of members",
            hint="check the export that wrote it; to empty a segment on purpose, give it "
            "members: [] in the config instead",
        )
        return CsvFile(shown_path, problems=(problem,))
    segment_like = [c for c in columns if _may_name_segments(c)]
    if segment_like and not read.cohorts:
        problems.insert(0, _segment_column_warning(segment_like[0], shown_path, header_line))
    problems = capped(problems, shown_path)
    return CsvFile(shown_path, tuple(read.usernames), read.lines, read.cohorts, tuple(problems))


def _may_name_segments(column: str) -> bool:
    """Whether a column seems to say which segment each row is for: ``segment…``, or
    ``department``, where Pluto's older bulk-add format put each row's segment."""
    return column.startswith("segment") or column == "department"


def _segment_column_warning(column: str, shown_path: str, header_line: int) -> Problem:
    """A column that seems to say which segment each row is for, but is not read so."""
    return Problem(
        Position(shown_path, header_line),
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


def _rows(table: CsvTable, columns: list[str]) -> _Read:
    """Read a file record by record: any file the plain path does not take."""
    shown_path = table.shown_path
    username_at = columns.index("username")
    cohort_at = _cohort_indexes(columns)
    checked = (username_at, *cohort_at)

    def row_like(fields: Sequence[str]) -> bool:  # a username where this file has them
        return bool(is_clean(php_trimmed(fields[username_at])))

    lines = array("l")
    read = _Read([], lines, tuple([] for _ in cohort_at))
    cohort_cells = list(zip(read.cohorts, cohort_at, strict=True))
    width = len(columns)
    for record in table.records:
        # Only rows that may be malformed are looked at closely (no position or call per
        # clean row): files run to 100,000s of rows.
        if len(record.fields) != width or record.last_line != record.line:
            shape = table.row_problem(record, checked, row_like=row_like)
            if shape:
                read.problems.append(shape)
                continue
        fields = record.fields
        username = fields[username_at]
        if not is_clean(username):  # written as Moodle stores it, the usual case: kept as is
            cleaned = _cleaned_username(username, record.line, shown_path, read)
            if cleaned is None:
                continue
            username = cleaned
        read.usernames.append(username)
        lines.append(record.line)
        for cells, at in cohort_cells:
            cells.append(fields[at].strip())
    return read


def _plain_rows(table: CsvColumns, columns: list[str], shown_path: str) -> _Read:
    """Read a plain file column by column (csvplain.py): only rows whose username is not
    as Moodle stores it are looked at one by one."""
    usernames = table.column(columns.index("username"))
    cohorts = tuple(list(map(str.strip, table.column(i))) for i in _cohort_indexes(columns))
    lines = range(FIRST_ROW_LINE, FIRST_ROW_LINE + len(usernames))
    read = _Read(usernames, lines, cohorts)
    dropped = []
    for row in table.unmatched:
        cleaned = _cleaned_username(usernames[row], lines[row], shown_path, read)
        if cleaned is None:
            dropped.append(row)
        else:
            usernames[row] = cleaned
    if dropped:
        kept = [True] * len(usernames)
        for row in dropped:
            kept[row] = False
        read.usernames = list(compress(usernames, kept))
        read.lines = array("l", compress(lines, kept))
        read.cohorts = tuple(list(compress(cells, kept)) for cells in cohorts)
    return read


def _cohort_indexes(columns: list[str]) -> list[int]:
    return [i for i, c in enumerate(columns) if _COHORT_COLUMN.match(c)]


def _unassigned(read: _Read) -> _Tally:
    """Count the rows whose cohort cells are all empty, in one pass in C."""
    if not read.cohorts:
        return _Tally()
    cohorts = read.cohorts
    joined = cohorts[0] if len(cohorts) == 1 else list(map("".join, zip(*cohorts, strict=True)))
    count = joined.count("")
    return _Tally(count, read.lines[joined.index("")]) if count else _Tally()


def _numbered(read: _Read) -> _Tally:
    """Count the rows that name a segment by a whole number: the distinct cells are
    checked, and rows looked at one by one only when some cell is a number."""
    numbers = {
        cell
        for cells in read.cohorts
        for cell in set(cells)
        if cell[:1] in _NUMBER_START and _is_moodle_number(cell)  # first: cheap
    }
    tally = _Tally()
    if numbers:
        for line, cells in zip(read.lines, zip(*read.cohorts, strict=True), strict=True):
            number = next((cell for cell in cells if cell in numbers), None)
            if number is not None:
                tally.note(line, number)
    return tally


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


def _cleaned_username(raw: str, line: int, shown_path: str, read: _Read) -> str | None:
    """Return the username a row's field means, or None (its problem noted) if invalid."""
    username = cleaned_if_valid(raw)
    if username == raw:
        username = php_trimmed(raw)  # invalid: its error names what the file holds
    elif username != php_trimmed(raw):  # spaces around a field were always taken silently
        read.normalised.note(Position(shown_path, line), raw, username)
    bad = username_problem(username)
    if bad:
        read.problems.append(Problem(Position(shown_path, line), bad[0], hint=bad[1]))
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
