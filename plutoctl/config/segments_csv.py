"""Reading Pluto's "Bulk Create User Segments" CSV for ``segments_csv``.

The format is that of Moodle's Upload cohorts page (``cohort/upload.php``): a header
row whose names are matched case-insensitively with spaces ignored; ``name``
required; ``idnumber``, ``description``, ``descriptionformat``, ``visible``, ``theme``;
the context columns ``contextid``, ``context``, ``category``, ``category_id``,
``category_idnumber``, ``category_path``. Reading (delimiters, BOM, quotes) is shared
with the members CSV reader.

Where plutoctl is stricter than Moodle, on purpose:

- ``idnumber`` is required: it is a segment's identity, so a row without one cannot be
  managed.
- Names and IDs longer than Moodle's columns are errors (Moodle cuts them silently).
- ``visible`` takes yes/y/true/on/1 or no/n/false/off/0, or empty for "visible";
  Moodle reads any other text as visible, which hides typos.
- A row in a category's context is refused: plutoctl manages system-level segments.

A row with a problem still declares its segment when it has an ID and a name, so
that references to it elsewhere in the config are not reported as unknown as well.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from plutoctl.config import limits
from plutoctl.config.csvtable import CsvRecord, CsvTable, capped, read_csv_table
from plutoctl.errors import Position, Problem

COLUMNS = ("name", "idnumber", "description", "descriptionformat", "visible", "theme")
CONTEXT_COLUMNS = (
    "contextid",
    "context",
    "category",
    "category_id",
    "category_idnumber",
    "category_path",
)
# Text that must fit on one line: a line break in it means a quote was left open.
_SINGLE_LINE = ("name", "idnumber", "visible", "descriptionformat", "theme", *CONTEXT_COLUMNS)
_VISIBLE = {"1": True, "yes": True, "y": True, "true": True, "on": True}
_HIDDEN = {"0": False, "no": False, "n": False, "false": False, "off": False}
_SYSTEM_CONTEXT_ID = "1"  # Moodle's system context always has id 1
_HTML_FORMAT = "1"
_EMPTY_HINT = "start it with a header row: name,idnumber,description,visible"
_HEADER_HINT = (
    "the first row names the columns, e.g. name,idnumber,description,visible "
    "(comma or semicolon separated)"
)


@dataclass(frozen=True, slots=True)
class CsvSegment:
    """A segment declared by one row.

    ``description`` and ``visible`` are None when the row leaves them empty: the
    YAML entry of the same ID may then state them, else the defaults apply.
    """

    idnumber: str
    name: str
    position: Position
    description: str | None = None
    visible: bool | None = None

    def stated(self) -> dict[str, str | bool]:
        """Return the fields this row states, by config key."""
        fields: dict[str, str | bool] = {"name": self.name}
        if self.description is not None:
            fields["description"] = self.description
        if self.visible is not None:
            fields["visible"] = self.visible
        return fields


@dataclass(frozen=True, slots=True)
class SegmentsCsvFile:
    """A parsed segments CSV: the segments its rows declare, and what is wrong."""

    shown_path: str
    segments: tuple[CsvSegment, ...] = ()
    problems: tuple[Problem, ...] = ()


def read_segments_csv(path: Path, shown_path: str) -> SegmentsCsvFile:
    """Read and check a segments CSV; problems are returned, never raised."""
    table = read_csv_table(path, shown_path, empty_hint=_EMPTY_HINT)
    if isinstance(table, Problem):
        return SegmentsCsvFile(shown_path, problems=(table,))
    header = _header_problems(table)
    if any(not p.is_warning for p in header):
        return SegmentsCsvFile(shown_path, problems=tuple(header))
    if not table.records:  # almost always an export that failed: say so, it is not nothing
        header.append(
            Problem(
                table.position(table.header_line),
                "the file has a header row and no segments: it declares none",
                hint="a segment it declared before is now undeclared (and deleted by a "
                "plan with unmanaged_segments: delete); check the export that wrote it",
                is_warning=True,
            )
        )
    reader = _RowReader(table)
    for record in table.records:
        reader.read(record)
    problems = capped([*header, *reader.finish()], shown_path)
    return SegmentsCsvFile(shown_path, tuple(reader.segments), tuple(problems))


def _header_problems(table: CsvTable) -> list[Problem]:
    position = table.position(table.header_line)
    columns = table.columns
    problems = []
    for required, why in (
        ("name", "every segment needs a name"),
        ("idnumber", "plutoctl identifies a segment by its ID"),
    ):
        if required not in columns:
            problems.append(
                Problem(
                    position,
                    f"the header row has no {required!r} column: {why}",
                    hint=_HEADER_HINT,
                )
            )
    duplicates = sorted({c for c in columns if c and columns.count(c) > 1})
    if duplicates:
        problems.append(Problem(position, f"the header row repeats column {duplicates[0]!r}"))
    known = (*COLUMNS, *CONTEXT_COLUMNS)
    unknown = [repr(c) if c else "(a column without a name)" for c in columns if c not in known]
    if unknown:
        problems.append(
            Problem(
                position,
                f"unknown column(s) {', '.join(unknown)}: ignored, as Moodle's upload ignores them",
                hint="columns: " + ", ".join(known),
                is_warning=True,
            )
        )
    return problems


@dataclass
class _Ignored:
    """Rows whose value in one column plutoctl does not use: warned once per file."""

    message: str
    lines: list[int] = field(default_factory=list)


class _RowReader:
    """Turn rows into segments, collecting each row's problems."""

    def __init__(self, table: CsvTable) -> None:
        self.table = table
        self.at = {name: i for i, name in enumerate(table.columns) if name}
        self.single_line = [self.at[c] for c in _SINGLE_LINE if c in self.at]
        self.segments: list[CsvSegment] = []
        self.problems: list[Problem] = []
        self.first_line: dict[str, int] = {}
        self.ignored = {
            "descriptionformat": _Ignored(
                "descriptionformat other than 1 is ignored: plutoctl writes descriptions "
                "as HTML (format 1)"
            ),
            "theme": _Ignored("theme is ignored: plutoctl does not manage segment themes"),
        }

    def _row_like(self, fields: Sequence[str]) -> bool:
        return all(fields[self.at[column]].strip() for column in ("name", "idnumber"))

    def error(self, line: int, message: str, hint: str | None = None) -> None:
        self.problems.append(Problem(self.table.position(line), message, hint=hint))

    def read(self, record: CsvRecord) -> None:
        shape = self.table.row_problem(record, self.single_line)
        if shape:
            self.problems.append(shape)
            return
        # A description may hold lines of its own that read as rows (an export writes it
        # as it is): said as a warning, as what may be rows a quote left open swallowed.
        swallowed = self.table.row_problem(record, (), row_like=self._row_like)
        if swallowed:
            self.problems.append(replace(swallowed, is_warning=True))
        row = {name: record.fields[i] for name, i in self.at.items()}
        line = record.line
        name = row["name"]
        idnumber = self._idnumber(row, line, name)
        if not name.strip():
            self.error(line, _where(idnumber) + "the name is empty", "Moodle requires a name")
        elif len(name) > limits.SEGMENT_NAME:
            self.error(line, _where(idnumber) + _too_long("name", name, limits.SEGMENT_NAME))
        self._check_context(row, line, idnumber)
        self._note_ignored(row, line)
        visible = self._visible(row.get("visible", ""), line, idnumber)
        if idnumber is None or not name.strip():
            return
        description = row.get("description") or None
        self.segments.append(
            CsvSegment(idnumber, name, self.table.position(line), description, visible)
        )

    def _idnumber(self, row: Mapping[str, str], line: int, name: str) -> str | None:
        """Return the row's segment ID if it can identify a segment (first row wins)."""
        idnumber = row["idnumber"]
        if not idnumber.strip():
            which = f"segment {name!r}" if name.strip() else "this row"
            self.error(
                line,
                f"{which} has no idnumber, so plutoctl cannot manage it",
                "fill in the idnumber column with the segment's ID (Pluto's "
                "'User segment ID'); it is how plutoctl finds the segment on a site",
            )
            return None
        if idnumber != idnumber.strip():
            self.error(line, f"the segment ID {idnumber!r} has leading or trailing spaces")
        elif len(idnumber) > limits.SEGMENT_IDNUMBER:
            self.error(line, _too_long("segment ID", idnumber, limits.SEGMENT_IDNUMBER))
        if idnumber in self.first_line:
            first = self.table.position(self.first_line[idnumber])
            self.error(
                line,
                f"segment ID {idnumber!r} is declared twice: here and at {first}",
                "each row declares one segment; remove or rename one of the two",
            )
            return None
        self.first_line[idnumber] = line
        return idnumber

    def _visible(self, value: str, line: int, idnumber: str | None) -> bool | None:
        text = value.strip().lower()
        if not text:
            return None
        if text in _VISIBLE or text in _HIDDEN:
            return _VISIBLE.get(text, False)
        self.error(
            line,
            _where(idnumber) + f"visible {value!r} is not yes or no",
            "write yes, no, 1 or 0 (empty means visible); Moodle would read this as visible",
        )
        return None

    def _check_context(self, row: Mapping[str, str], line: int, idnumber: str | None) -> None:
        """Refuse a row whose context is a course category (any context but System)."""
        found = _category_context(row)
        if found is None:
            return
        column, value = found
        self.error(
            line,
            _where(idnumber) + f"{column} {value!r} puts the segment in a category's "
            "context; plutoctl manages system-level segments only",
            "leave the context columns empty (or write System) to make it a "
            "system-level segment, or keep this segment out of the file and manage "
            "it in Pluto",
        )

    def _note_ignored(self, row: Mapping[str, str], line: int) -> None:
        if row.get("descriptionformat", "").strip() not in ("", _HTML_FORMAT):
            self.ignored["descriptionformat"].lines.append(line)
        if row.get("theme", "").strip():
            self.ignored["theme"].lines.append(line)

    def finish(self) -> list[Problem]:
        """Return every row problem, plus one warning per column with ignored values."""
        for ignored in self.ignored.values():
            if ignored.lines:
                count = len(ignored.lines)
                rows = "1 row" if count == 1 else f"{count} rows"
                self.problems.append(
                    Problem(
                        self.table.position(ignored.lines[0]),
                        f"{ignored.message} ({rows}, the first here)",
                        is_warning=True,
                    )
                )
        return self.problems


def _category_context(row: Mapping[str, str]) -> tuple[str, str] | None:
    """Return the column and value that name a category context, if any.

    As Moodle reads them, empty and "0" say nothing; ``contextid`` 1 and ``context``
    "System" (or 1) are the system context.
    """
    for column in CONTEXT_COLUMNS:
        value = row.get(column, "").strip()
        if value in ("", "0"):
            continue
        if column == "contextid" and value == _SYSTEM_CONTEXT_ID:
            continue
        if column == "context" and value.lower() in ("system", _SYSTEM_CONTEXT_ID):
            continue
        return column, value
    return None


def _where(idnumber: str | None) -> str:
    return f"segment {idnumber!r}: " if idnumber else ""


def _too_long(what: str, value: str, limit: int) -> str:
    return (
        f"the {what} is {len(value)} characters; Moodle keeps at most {limit} "
        "(its upload page would cut it silently)"
    )
