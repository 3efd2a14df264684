"""The Pluto bulk-upload-users CSV a sandbox site is seeded from: read and checked.

``username, firstname, lastname, email, profile_field_<name>…, courseN, roleN, groupN,
cohortN`` (docs/sandbox.md, "The seed CSV"), read as the config's CSV files are
(``read_csv_table``: encodings, delimiters, quotes and malformed rows named). What can
be told without a site is checked here, so that ``validate`` reports it offline: the
header, each row's width, and each row's username and groups. The sandbox loads the
rows (``plutoctl.sandbox.seed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from plutoctl.config.csvtable import read_csv_table
from plutoctl.config.usernames import username_problem
from plutoctl.errors import ConfigError, Position, Problem

INDEXED = ("course", "role", "group", "cohort")
"""The columns that come numbered, one set per enrolment: course1, role1, group1, …"""


@dataclass(frozen=True)
class BulkRow:
    """One row of the file: its line, and its values by column (stripped)."""

    line: int
    values: dict[str, str]


def read_bulk_users(path: Path, shown: str) -> list[BulkRow]:
    """Read the file's rows by header; raise ConfigError for an unreadable file, a
    header without ``username`` or rows of another width (every one of them)."""
    rows, problems = _read(path, shown)
    if problems:
        raise ConfigError(problems, where="the seed CSV")
    return rows


def _read(path: Path, shown: str) -> tuple[list[BulkRow], list[Problem]]:
    table = read_csv_table(path, shown, empty_hint="start it with a header row: username,…")
    if isinstance(table, Problem):
        return [], [table]
    if "username" not in table.columns:
        at = Position(shown, table.header_line)
        return [], [Problem(at, "the CSV has no 'username' column")]
    width = len(table.columns)
    rows, problems = [], []
    for record in table.records:
        fields = record.fields
        if len(fields) < width or any(cell.strip() for cell in fields[width:]):
            # As Moodle's upload does (csvweirdcolumns): a field too few or too many
            # shifts every value after it into the wrong column.
            problems.append(
                Problem(
                    Position(shown, record.line),
                    f"this row has {len(fields)} fields but the header has {width}",
                    hint="quote fields that contain the delimiter",
                )
            )
            continue
        values = {name: fields[i].strip() for i, name in enumerate(table.columns)}
        rows.append(BulkRow(record.line, values))
    return rows, problems


def row_problem(values: dict[str, str]) -> str | None:
    """Return what is wrong with a row that no site is needed to tell, or None."""
    username = values.get("username", "")
    if not username:
        return "empty username"
    bad = username_problem(username.lower())  # stored lowercased, as Moodle's upload does
    if bad:  # Moodle's upload refuses what cleaning would change (invalidusernameupload)
        return f"username {username!r} is not valid: {bad[1]}"
    for index in indexes(values):
        if values.get(f"group{index}") and not values.get(f"course{index}"):
            return f"group{index} needs course{index}"
    return None


def indexes(values: dict[str, str]) -> list[str]:
    """Return the numbers of the row's numbered columns (``1`` for course1, …), in order."""
    found = set()
    for column in values:
        for prefix in INDEXED:
            suffix = column.removeprefix(prefix)
            if suffix != column and suffix.isdigit():
                found.add(suffix)
    return sorted(found, key=int)


def check_bulk_users(path: Path, shown: str) -> list[Problem]:
    """Return the file's problems that ``validate`` can tell offline (none: it is fine)."""
    rows, problems = _read(path, shown)
    for row in rows:
        problem = row_problem(row.values)
        if problem is not None:
            problems.append(Problem(Position(shown, row.line), problem))
    return problems
