"""A CSV file split into records, before any column is interpreted: the part the
members CSV (``csvfile.py``) and segments CSV (``segments_csv.py``) readers share.

UTF-8 with or without a byte-order mark, commas or semicolons (detected from the
header), CRLF, lone CR or LF line ends, blank lines and quoted fields are read; a file
that cannot be decoded or split, and a malformed row, is a problem citing
``file:line``, with what the file most likely is (UTF-16, tab-separated, Excel's
``sep=`` line) named.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from plutoctl.config.input_files import MAX_CSV_BYTES, FileRefusedError, read_bounded
from plutoctl.errors import Position, Problem

_DELIMITERS = (",", ";")


@dataclass(frozen=True, slots=True)
class CsvTable:
    """A CSV file split into records, before any column is interpreted.

    ``columns`` are the header's names lowercased with spaces removed (as Moodle's
    upload pages match them); ``records`` are the data rows, blank lines skipped.
    """

    shown_path: str
    delimiter: str
    columns: tuple[str, ...]
    header_line: int
    records: tuple[CsvRecord, ...]

    def position(self, line: int) -> Position:
        """Return the position of a line of this file."""
        return Position(self.shown_path, line)

    def row_problem(
        self,
        record: CsvRecord,
        single_line: Iterable[int],
        *,
        row_like: Callable[[Sequence[str]], bool] | None = None,
    ) -> Problem | None:
        """Return why a row cannot be read: a wrong width, or a line break in one of the
        ``single_line`` columns (a quote left open); None if it is well formed.

        ``row_like`` says whether a line's fields make a row of this file (its key
        columns filled in). A field of another column that runs over such a line holds
        rows a quote left open swallowed: a problem too (a warning when ``row_like`` is
        only a guess, see ``swallowed_rows``).
        """
        if len(record.fields) != len(self.columns):
            return _width_problem(
                record, len(self.columns), self.delimiter, self.position(record.line)
            )
        if record.last_line == record.line:
            return None
        # A line break at a cell's edge (Excel's Alt+Enter after the value) is white space
        # the cell's reader trims; inside it, the row is not one line of this file.
        if any(_has_line_break(record.fields[i].strip()) for i in single_line):
            return _unclosed_quote_problem(self.position(record.line), record.last_line)
        if row_like is not None and any(
            self._holds_rows(field, row_like) for field in record.fields if _has_line_break(field)
        ):
            return Problem(
                self.position(record.line),
                f"a quoted field runs on from this line to line {record.last_line} over "
                "lines that look like rows of their own: a quote left open hides them",
                hint=_QUOTE_HINT,
            )
        return None

    def _holds_rows(self, field: str, row_like: Callable[[Sequence[str]], bool]) -> bool:
        """Whether a line after a field's first reads as a row of this file."""
        width = len(self.columns)
        for line in _LINE_BREAK.split(field)[1:]:
            fields = next(csv.reader([line], delimiter=self.delimiter), [])
            if len(fields) == width and row_like(fields):
                return True
        return False


def read_csv_table(path: Path, shown_path: str, *, empty_hint: str) -> CsvTable | Problem:
    """Read a UTF-8 CSV (comma or semicolon, BOM, CRLF, quoted fields) into records.

    Returns the problem instead when the file cannot be read, decoded or split, or is
    empty (``empty_hint`` says what its header row should be).
    """
    text = read_csv_text(path, shown_path)
    if isinstance(text, Problem):
        return text
    return split_csv_table(text, shown_path, empty_hint=empty_hint)


def read_csv_text(path: Path, shown_path: str) -> str | Problem:
    """Read a CSV file's text (UTF-8, a byte-order mark dropped), or why it cannot be."""
    try:
        raw = read_bounded(path, MAX_CSV_BYTES)
    except FileRefusedError as exc:
        return _problem(shown_path, 0, f"the CSV file {exc.message}", exc.hint)
    except FileNotFoundError:
        return _problem(
            shown_path, 0, "CSV file not found", "paths are relative to the config file"
        )
    except OSError as exc:
        return _problem(shown_path, 0, f"cannot read the CSV file: {exc.strerror}", None)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # the byte-order mark of UTF-16
        return _problem(
            shown_path,
            1,
            "the file is UTF-16 text (Excel's 'Unicode Text'), not UTF-8",
            "save it as 'CSV UTF-8' (Excel: File > Save As > CSV UTF-8)",
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return _problem(
            shown_path,
            line,
            f"the file is not UTF-8 (byte 0x{raw[exc.start]:02x} on this line)",
            "save it as 'CSV UTF-8' (Excel: File > Save As > CSV UTF-8)",
        )


def split_csv_table(text: str, shown_path: str, *, empty_hint: str) -> CsvTable | Problem:
    """Split a CSV file's text into records, or return why it cannot be (see read_csv_table)."""
    delimiter = detect_delimiter(text)
    try:
        records = _records(text, delimiter)
    except _MalformedError as exc:
        return _malformed_problem(shown_path, exc)
    if not records:
        return _problem(shown_path, 1, "the CSV file is empty", empty_hint)
    header, *data = records
    columns = header_columns(header.fields)
    if len(columns) < len(header.fields):
        # A header ending in delimiters (as some HR systems and spreadsheets write it)
        # has no more columns than it names: rows may end in as many empty fields, or not.
        data = [_without_empty_tail(record, len(columns)) for record in data]
    return CsvTable(shown_path, delimiter, columns, header.line, tuple(data))


def header_columns(fields: Sequence[str]) -> tuple[str, ...]:
    """Return a header's column names as Moodle's upload pages match them (lowercased,
    spaces removed), without the empty names a header ending in delimiters has."""
    columns = tuple(name.strip().lower().replace(" ", "") for name in fields)
    named = len(columns)
    while named > 1 and not columns[named - 1]:
        named -= 1
    return columns[:named]


def _without_empty_tail(record: _Record, width: int) -> _Record:
    if len(record.fields) > width and not any(f.strip() for f in record.fields[width:]):
        return record._replace(fields=record.fields[:width])
    return record


MAX_LISTED_PROBLEMS = 20
"""A file's problems listed one by one; the rest are counted (one mistake often makes
thousands: a header with a column too many puts every row out)."""


def capped(problems: list[Problem], shown_path: str) -> list[Problem]:
    """Return the first ``MAX_LISTED_PROBLEMS`` problems, and one that counts the rest."""
    if len(problems) <= MAX_LISTED_PROBLEMS:
        return problems
    listed, rest = problems[:MAX_LISTED_PROBLEMS], problems[MAX_LISTED_PROBLEMS:]
    errors = sum(1 for problem in rest if not problem.is_warning)
    counted = Problem(
        rest[0].position,
        f"and {len(rest)} more problem(s) from this line on, not listed "
        f"({errors} error(s), {len(rest) - errors} warning(s))",
        hint="mend those above and validate again: one mistake often puts many rows out",
        is_warning=errors == 0,
        count=errors or len(rest),
    )
    return [*listed, counted]


def _problem(shown_path: str, line: int, message: str, hint: str | None) -> Problem:
    return Problem(Position(shown_path, line), message, hint=hint)


class _Record(NamedTuple):
    """A named tuple: a file runs to 100,000s of records, built by position."""

    line: int
    fields: list[str]
    last_line: int = 0


CsvRecord = _Record
"""One record of a CSV file: its fields and the lines it spans."""


class _MalformedError(Exception):
    """A row the CSV reader cannot take, at the line where that row starts."""

    def __init__(self, line: int, reason: str, *, has_quote: bool = False) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason
        self.has_quote = has_quote


def _records(text: str, delimiter: str) -> list[_Record]:
    """Split text into records with their first line number, skipping blank lines."""
    if _is_plain(text):
        # No quotes, carriage returns or NUL bytes, no line past the field limit: a
        # record is a line and a field what lies between delimiters, exactly as the
        # csv module reads it, split here in C without a reader loop (100,000s of rows).
        return [
            _Record(number, line.split(delimiter), number)
            for number, line in enumerate(text.split("\n"), 1)
            if line.replace(delimiter, "").strip()
        ]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[_Record] = []
    line = 1
    try:
        for fields in reader:
            if "".join(fields).strip():  # any field not blank, without a generator per row
                records.append(_Record(line, fields, reader.line_num))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise _MalformedError(line, str(exc), has_quote='"' in _line(text, line)) from exc
    return records


def _is_plain(text: str) -> bool:
    """Return whether the csv module would read ``text`` as plain lines split at delimiters."""
    if '"' in text or "\r" in text or "\0" in text:
        return False
    return max(map(len, text.split("\n"))) <= csv.field_size_limit()


def _line(text: str, number: int) -> str:
    """Return line ``number`` (1-based) of ``text``, or "" past its end."""
    lines = text.split("\n", number)
    return lines[number - 1] if len(lines) >= number else ""


def _malformed_problem(shown_path: str, error: _MalformedError) -> Problem:
    position = Position(shown_path, error.line)
    if "unexpected end of data" in error.reason:
        return Problem(
            position,
            "a quote opened on this line is never closed (the field runs on to the end of "
            "the file)",
            hint=_QUOTE_HINT,
        )
    if "field larger than field limit" in error.reason:
        return _long_field_problem(position, error.has_quote)
    return Problem(position, f"cannot read this row: {error.reason}", hint=_QUOTE_HINT)


def _long_field_problem(position: Position, has_quote: bool) -> Problem:
    """A field past the csv module's limit: no username, segment ID or name is that long."""
    limit = csv.field_size_limit()
    hint = (
        "a quote opened on this line and never closed makes the rest of the file one "
        'field: close it (a quote inside a quoted field is written "")'
        if has_quote
        else "check that this is the CSV file meant here (not another kind of file)"
    )
    return Problem(
        position,
        f"a field starting on this line is longer than {limit:,} characters; no username "
        "or segment ID is that long",
        hint=hint,
    )


_QUOTE_HINT = (
    'close the quote; a quote inside a quoted field is written "", and a field '
    "that holds no delimiter needs no quotes"
)


def detect_delimiter(text: str) -> str:
    """Pick the delimiter the header line uses (outside quotes); comma when neither."""
    header = _first_line(text)
    unquoted = re.sub(r'"[^"]*"', "", header)
    return max(_DELIMITERS, key=unquoted.count)


_HEAD = 4096


def _first_line(text: str) -> str:
    """Return the first line that is not blank, as ``str.splitlines`` splits the text.

    Looked for in the first 4,096 characters first: splitting a whole 27,000-row file
    costs 2 ms. Every line of the head but its last ends as in the whole text.
    """
    lines = text[:_HEAD].splitlines()
    if len(text) > _HEAD:
        lines.pop()
    found = next((ln for ln in lines if ln.strip()), None)
    if found is None and len(text) > _HEAD:
        return next((ln for ln in text.splitlines() if ln.strip()), "")
    return found or ""


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _has_line_break(text: str) -> bool:
    return "\n" in text or "\r" in text


def _unclosed_quote_problem(position: Position, last_line: int) -> Problem:
    """No username or segment ID holds a line break: one that does comes from a quote
    that was opened and not closed, so the reader ran on to a later quote."""
    return Problem(
        position,
        f"a quote opened on this line is never closed (the field runs on to line {last_line})",
        hint=_QUOTE_HINT,
    )


def _width_problem(record: _Record, width: int, delimiter: str, position: Position) -> Problem:
    other = ";" if delimiter == "," else ","
    if any(other in field for field in record.fields):
        return Problem(
            position,
            f"this row is separated by {other!r} but the header by {delimiter!r}",
            hint="use one delimiter in the whole file",
        )
    return Problem(
        position,
        f"this row has {len(record.fields)} fields but the header has {width}",
        hint="quote fields that contain the delimiter",
    )
