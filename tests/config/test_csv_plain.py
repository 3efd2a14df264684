"""A plain members CSV is read column by column (csvplain.py): with the same result as
the record-by-record reader every other file goes through, for every file."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from plutoctl.config import check_members_csv as members_module
from plutoctl.config.csvfile import CsvFile, parse_members_csv, read_members_csv
from plutoctl.config.csvplain import plain_columns
from plutoctl.config.csvtable import read_csv_text
from plutoctl.config.usernames import CLEAN_CHARS
from plutoctl.config.validate import check_document
from plutoctl.errors import Position, Problem

CLEAN = ["jdoe", "asmith", "b.k", "x@y.org", "u-1"]
UNCLEAN = ["JDoe", " jdoe ", "j doe", "jdoé", "a\u00a0b", "\tx", "-0"]  # a plain file's still
ODD = ["", " ", "x;y", "x,y"]
SEGMENTS = ["a", "b", "c", "12", "other", "undeclared", "", " a ", "0", "-3", "007"]
DECLARED = ["a", "b", "c", "12", "other"]
EXTRA = ["email", "department", "segment", "note", "cohort"]
NOT_PLAIN = ["blank rows", "odd rows", "quoted", "ending", "start", "header"]


@st.composite
def members_csv_texts(draw: Any) -> str:
    """Members CSV text: half of it plain, much of it well formed, as real files are."""
    ways = set() if draw(st.booleans()) else draw(st.sets(st.sampled_from(NOT_PLAIN), min_size=1))

    def unless_plain(plain: str, way: str, *others: str) -> str:  # one way not to be plain
        return draw(st.sampled_from(others)) if way in ways else plain

    delimiter = draw(st.sampled_from([",", ",", ";"]))
    columns = ["username"] + [f"cohort{i}" for i in range(1, draw(st.integers(0, 3)) + 1)]
    for extra in draw(st.lists(st.sampled_from(EXTRA), max_size=2, unique=True)):
        columns.insert(draw(st.integers(0, len(columns))), extra)
    names = st.sampled_from(draw(st.sampled_from([CLEAN, CLEAN + UNCLEAN, CLEAN + UNCLEAN + ODD])))
    row = st.tuples(*[names if c == "username" else st.sampled_from(SEGMENTS) for c in columns])
    blank = delimiter * (len(columns) - 1)
    lines = row.map(delimiter.join)
    if "blank rows" in ways:
        lines = st.one_of(lines, st.sampled_from(["", " ", blank, f" {blank}"]))
    if "odd rows" in ways:
        lines = st.one_of(lines, st.sampled_from(["jdoe", "jdoe" + delimiter * len(columns)]))
    texts = draw(st.lists(lines, max_size=30))
    if "quoted" in ways:
        texts = [f'"{line}"' if line else line for line in texts]
    ending = unless_plain("\n", "ending", "\r\n", "\n\n")
    start = unless_plain("", "start", "\ufeff", "\n")
    header = start + delimiter.join(columns) + unless_plain("", "header", delimiter)
    return header + "".join(ending + line for line in texts) + draw(st.sampled_from(["", ending]))


def both_ways(text: str) -> tuple[CsvFile, CsvFile]:
    """Return the file as read (column by column when plain) and record by record."""
    plain = plain_columns(text, "username", CLEAN_CHARS)
    event("not plain" if plain is None else "plain, rows looked at" if plain.unmatched else "plain")
    general = parse_members_csv(text, "m.csv", allow_plain=False)
    return parse_members_csv(text, "m.csv"), general


def compared(csv_file: CsvFile) -> tuple[object, ...]:
    rows = [(row.username, row.segments, row.line) for row in csv_file.rows]
    return rows, csv_file.has_segment_columns, csv_file.problems


@settings(max_examples=400, deadline=None)
@given(members_csv_texts())
def test_a_file_reads_the_same_column_by_column(text: str) -> None:
    fast, general = both_ways(text)
    assert compared(fast) == compared(general)


def members(directory: Path, text: str, readers: list[str], *, allow_plain: bool) -> tuple:
    """Return check_members_csv's rows for segments reading one file, and its problems."""
    (directory / "m.csv").write_text(text, encoding="utf-8")
    (directory / "n.csv").write_text("username\njdoe\nasmith\njdoe\n", encoding="utf-8")
    segments = {
        sid: {"name": sid, "members_csv": "m.csv"} if sid in readers else {"name": sid}
        for sid in DECLARED
    }
    segments["other"] = {"name": "other", "members_csv": "n.csv"}
    data = {"version": 1, "sites": {"demo": {"url": "sandbox:demo.db"}}, "segments": segments}

    def read(path: Path, shown: str) -> CsvFile:
        text = read_csv_text(path, shown)
        if isinstance(text, Problem):
            return CsvFile(shown, problems=(text,))
        return parse_members_csv(text, shown, allow_plain=allow_plain)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(members_module, "read_members_csv", read)
        result = check_document(data, {}, "config.yaml", directory)
    rows = {
        sid: (list(rows.usernames), list(rows.lines))
        for sid, rows in result.csv_members.items()
        if sid in readers
    }
    problems = [(p.position.line, p.message) for p in result.problems if p.position.file == "m.csv"]
    return rows, problems


def members_a_row_at_a_time(csv_file: CsvFile, readers: list[str]) -> tuple:
    """Return what ``members`` returns, found as check_members_csv found it before it
    took a file's columns: row by row, from ``CsvFile.rows``."""
    problems = [(p.position.line, p.message) for p in csv_file.problems]
    rows = {}
    for sid in [sid for sid in DECLARED if sid in readers]:
        first: dict[str, int] = {}
        for row in csv_file.rows:
            if csv_file.has_segment_columns and sid not in row.segments:
                continue
            if row.username in first:
                where = f"(first at line {first[row.username]})"
                problems.append(
                    (row.line, f"{row.username!r} is listed twice for segment {sid!r} {where}")
                )
                continue
            first[row.username] = row.line
        rows[sid] = (list(first), list(first.values()))
    ignored: dict[str, int] = {}
    for row in csv_file.rows if csv_file.has_segment_columns else ():
        for sid in row.segments:
            if sid not in DECLARED:
                problems.append(
                    (row.line, f"unknown segment {sid!r}: the config does not declare it")
                )
            elif sid not in readers:
                ignored.setdefault(sid, row.line)
    message = "rows for segment {!r} are ignored: its members_csv is not this file"
    return rows, problems + [(line, message.format(sid)) for sid, line in ignored.items()]


@settings(max_examples=150, deadline=None)
@given(members_csv_texts(), st.lists(st.sampled_from(DECLARED[:4]), min_size=1, unique=True))
def test_segments_get_the_same_rows_from_a_file_read_column_by_column(
    text: str, readers: list[str]
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        fast = members(Path(directory), text, readers, allow_plain=True)
        general = members(Path(directory), text, readers, allow_plain=False)
        csv_file = read_members_csv(Path(directory) / "m.csv", "m.csv")
    assert fast == general
    assert fast == members_a_row_at_a_time(csv_file, readers)


def read(tmp_path: Path, text: str) -> CsvFile:
    path = tmp_path / "members.csv"
    path.write_text(text, encoding="utf-8")
    return read_members_csv(path, "members.csv")


def test_the_usual_file_is_plain() -> None:
    text = "username,cohort1\njdoe,a\nasmith,b\n"
    plain = plain_columns(text, "username", CLEAN_CHARS)
    assert plain is not None and plain.unmatched == ()
    assert plain.cells == ["jdoe", "a", "asmith", "b"]


@pytest.mark.parametrize(
    "text",
    [
        'username,cohort1\n"jdoe",a\n',
        "username,cohort1\r\njdoe,a\r\n",
        "\nusername,cohort1\njdoe,a\n",
        "username,cohort1,\njdoe,a\n",
        "username,cohort1\njdoe,a,b\n",
        "username,cohort1\njdoe,a\n\nasmith,b\n",
        "username,cohort1\n,\n",
        "username,cohort1\n",
        "username\n \n",
    ],
    ids=["quoted", "crlf", "blank-first", "header-tail", "wide-row", "blank", "blank-row",
         "no-rows", "blank-username-only"],
)  # fmt: skip
def test_files_that_are_not_plain(text: str) -> None:
    assert plain_columns(text, "username", CLEAN_CHARS) is None


def test_usernames_not_as_moodle_stores_them_are_looked_at_one_by_one(tmp_path: Path) -> None:
    csv_file = read(tmp_path, "username,cohort1\njdoe,a\n JDoe ,a\nj doe,b\n,b\nann,\n")
    assert [(row.username, row.segments, row.line) for row in csv_file.rows] == [
        ("jdoe", ("a",), 2),
        ("jdoe", ("a",), 3),
        ("ann", (), 6),
    ]
    invalid, empty, normalised, unassigned = csv_file.problems
    assert normalised.position == Position("members.csv", 3)
    assert (invalid.position.line, empty.position.line) == (4, 5)
    assert "'j doe' is not valid" in invalid.message and empty.message == "empty username"
    assert unassigned.message.endswith("(first at line 6)")


def test_a_field_past_the_csv_modules_limit_is_the_same_problem(tmp_path: Path) -> None:
    limit = csv.field_size_limit()
    try:
        csv.field_size_limit(10)
        text = "username,note\njdoe,0123456789x\n"
        assert plain_columns(text, "username", CLEAN_CHARS) is None
        (problem,) = read(tmp_path, text).problems
        assert "longer than 10 characters" in problem.message
        assert plain_columns("username,note\njdoe,0123456789\n", "username", CLEAN_CHARS)
    finally:
        csv.field_size_limit(limit)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("\n" * 5000 + "username;cohort1\njdoe;a\n", 5002),
        ("\n" * 4091 + "x,y;username;cohort1\nq;jdoe;a\n", 4093),  # cut at 4,096: "x,y;u"
    ],
    ids=["past-the-head", "across-its-end"],
)
def test_the_delimiter_is_found_past_many_blank_lines(tmp_path: Path, text: str, line: int) -> None:
    """The header is looked for in the first 4,096 characters first, then further on."""
    csv_file = read(tmp_path, text)
    assert [(row.username, row.segments, row.line) for row in csv_file.rows] == [
        ("jdoe", ("a",), line)
    ]


def test_a_segment_listed_in_several_runs_keeps_file_order(tmp_path: Path) -> None:
    text = "username,cohort1,cohort2\njdoe,a,\nann,b,a\nbob,a,a\njdoe,,a\nann,a,\n"
    (tmp_path / "m.csv").write_text(text, encoding="utf-8")
    rows, problems = members(tmp_path, text, ["a", "b"], allow_plain=True)
    assert rows["a"] == (["jdoe", "ann", "bob"], [2, 3, 4])
    assert rows["b"] == (["ann"], [3])
    assert problems == [
        (5, "'jdoe' is listed twice for segment 'a' (first at line 2)"),
        (6, "'ann' is listed twice for segment 'a' (first at line 3)"),
    ]


def test_unknown_and_unread_segments_are_named_at_their_rows(tmp_path: Path) -> None:
    text = "username,cohort1\njdoe,a\nann,nope\nbob,c\ncat,nope\ndan,c\n"
    rows, problems = members(tmp_path, text, ["a"], allow_plain=True)
    assert rows["a"] == (["jdoe"], [2])
    assert problems == [
        (3, "unknown segment 'nope': the config does not declare it"),
        (5, "unknown segment 'nope': the config does not declare it"),
        (4, "rows for segment 'c' are ignored: its members_csv is not this file"),
    ]
