"""The members CSV reader (docs/config.md, "CSV files")."""

from __future__ import annotations

from pathlib import Path

import pytest

from plutoctl.config.csvfile import CsvFile, read_members_csv
from plutoctl.config.usernames import username_problem
from plutoctl.errors import ConfigError, Position


def read(tmp_path: Path, data: bytes) -> CsvFile:
    path = tmp_path / "members.csv"
    path.write_bytes(data)
    return read_members_csv(path, "data/members.csv")


def usernames(csv_file: CsvFile) -> list[str]:
    return [row.username for row in csv_file.rows]


@pytest.mark.parametrize(
    "data",
    [
        b"username,cohort1\njdoe,dept-sales\nasmith,dept-sales\n",
        b"username;cohort1\njdoe;dept-sales\nasmith;dept-sales\n",
        b"\xef\xbb\xbfusername,cohort1\r\njdoe,dept-sales\r\nasmith,dept-sales\r\n",
        b"username,cohort1\n\njdoe,dept-sales\n\n\nasmith,dept-sales",
        b'"username","cohort1"\n"jdoe","dept-sales"\n"asmith","dept-sales"\n',
        b"Username , Cohort1\n jdoe , dept-sales \nasmith,dept-sales\n",
        b'username;firstname;cohort1\njdoe;"Doe; John";dept-sales\nasmith;Ann;dept-sales\n',
    ],
    ids=["comma", "semicolon", "bom-crlf", "blank-lines", "quoted", "spaces-case", "quoted-delim"],
)
def test_accepted_variants(tmp_path: Path, data: bytes) -> None:
    csv_file = read(tmp_path, data)
    assert csv_file.problems == ()
    assert usernames(csv_file) == ["jdoe", "asmith"]
    assert csv_file.has_segment_columns
    assert all(row.segments == ("dept-sales",) for row in csv_file.rows)


def test_line_numbers_count_blank_lines_and_crlf(tmp_path: Path) -> None:
    csv_file = read(tmp_path, b"username\r\n\r\njdoe\r\n\r\n\r\nasmith\r\n")
    assert [row.line for row in csv_file.rows] == [3, 6]
    assert csv_file.position(6) == Position("data/members.csv", 6)


def test_multiline_quoted_field_keeps_the_row_start_line(tmp_path: Path) -> None:
    data = b'username,note\njdoe,"two\nlines"\nasmith,x\n'
    csv_file = read(tmp_path, data)
    assert [(row.username, row.line) for row in csv_file.rows] == [("jdoe", 2), ("asmith", 4)]


def test_username_only_file(tmp_path: Path) -> None:
    csv_file = read(tmp_path, b"username\njdoe\nasmith\n")
    assert not csv_file.has_segment_columns
    assert usernames(csv_file) == ["jdoe", "asmith"]


def test_several_cohort_columns_and_empty_cells(tmp_path: Path) -> None:
    csv_file = read(
        tmp_path, b"username,cohort1,cohort2,email\njdoe,a,,j@x.org\nasmith,,b,a@x.org\n"
    )
    assert [row.segments for row in csv_file.rows] == [("a",), ("b",)]


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"username\tcohort1\njdoe\ta\n", "the file is separated by tabs"),
        (b"sep=;\nusername;cohort1\njdoe;a\n", "remove the 'sep=' line"),
        (b"\xef\xbb\xbf\xef\xbb\xbfusername\njdoe\n", "two byte-order marks"),
        ("username\njdoe\n".encode("utf-16"), "the file is UTF-16 text"),
    ],
    ids=["tabs", "excel-sep-line", "double-bom", "utf-16"],
)
def test_what_spreadsheets_save_is_named(tmp_path: Path, data: bytes, text: str) -> None:
    (problem,) = read(tmp_path, data).problems
    assert problem.position == Position("data/members.csv", 1)
    assert text in problem.message + (problem.hint or "")


@pytest.mark.parametrize(
    ("data", "line", "text"),
    [
        (b"", 1, "the CSV file is empty"),
        (b"\n\r\n  \n", 1, "the CSV file is empty"),
        (b"user,cohort1\njdoe,a\n", 1, "no 'username' column"),
        (b"email\njdoe@x.org\n", 1, "no 'username' column"),
        (b"username,cohort1\njdoe,a\nasmith;a\n", 3, "separated by ';' but the header by ','"),
        (b"username;cohort1\njdoe;a\nasmith,a\n", 3, "separated by ',' but the header by ';'"),
        (b"username,cohort1\njdoe,a,b\n", 2, "3 fields but the header has 2"),
        (b"username\njdoe\nfran\xe7ois\n", 3, "not UTF-8"),
        (b"username\nJDoe\n", 2, "1 username was normalised as Moodle reads them"),
        (b"username\njohn doe\n", 2, "is not valid"),
        (b"username\njdoe\n\xc2\xa0asmith\n", 3, "holds the space character U+00A0"),
        (b"username,cohort1\n,a\n", 2, "empty username"),
        (b"username,Username\njdoe,jdoe\n", 1, "repeats column 'username'"),
        (b"username,cohort1\n", 1, "a header row and no rows of members"),
        (b"username;cohort1\r\n\r\n\r\n", 1, "a header row and no rows of members"),
    ],
    ids=[
        "empty",
        "only-blank-lines",
        "no-username",
        "other-column-only",
        "mixed-semicolon",
        "mixed-comma",
        "too-many-fields",
        "latin-1",
        "capitals-normalised",
        "space",
        "no-break-space",
        "empty-username",
        "repeated-column",
        "header-only",
        "header-and-blank-lines",
    ],
)
def test_problems_cite_file_and_line(tmp_path: Path, data: bytes, line: int, text: str) -> None:
    csv_file = read(tmp_path, data)
    assert len(csv_file.problems) == 1
    (problem,) = csv_file.problems
    assert problem.position == Position("data/members.csv", line)
    assert text in problem.message


def test_bad_rows_do_not_hide_good_ones(tmp_path: Path) -> None:
    csv_file = read(tmp_path, b"username\njdoe\nBad Name\nasmith\n")
    assert usernames(csv_file) == ["jdoe", "asmith"]
    assert [p.position.line for p in csv_file.problems] == [3]


@pytest.mark.parametrize("name", ["jdoe", "j.doe", "j_doe-2", "kim.lee@example.com", "123"])
def test_valid_usernames(name: str) -> None:
    assert username_problem(name) is None


@pytest.mark.parametrize("name", ["", "JDoe", "j doe", "jdoe!", "josé", "a/b"])
def test_invalid_usernames(name: str) -> None:
    assert username_problem(name) is not None


@pytest.mark.parametrize(
    "data",
    [
        b'username,notes,cohort1\r\nben,"desk 4,seg-a\r\nzoe,,seg-a\r\namy,27",seg-a\r\n'
        b"cat,,seg-a\r\n",
        b'username,notes\r\nben,"desk 4\r\nzoe,x\r\namy,27"\r\ncat,\r\n',
    ],
    ids=["cohort-columns", "username-only"],
)
def test_a_quote_left_open_in_another_column_never_hides_rows(tmp_path: Path, data: bytes) -> None:
    """Rows swallowed into a notes field, quote to quote, would be lost unseen."""
    csv_file = read(tmp_path, data)
    (problem,) = csv_file.problems
    assert problem.position == Position("data/members.csv", 2)
    assert "over lines that look like rows of their own" in problem.message
    assert usernames(csv_file) == ["cat"]  # the rows around it are read as ever


def test_notes_over_several_lines_are_kept(tmp_path: Path) -> None:
    data = (  # a line of three fields, as rows have, but no username where they have it
        b'username,notes,cohort1\njdoe,"Main St 1\nTown, Country, Earth",dept-sales\n'
        b"asmith,,dept-sales\n"
    )
    csv_file = read(tmp_path, data)
    assert csv_file.problems == ()
    assert usernames(csv_file) == ["jdoe", "asmith"]


@pytest.mark.parametrize(
    "data",
    [
        b"username,cohort1,\njdoe,dept-sales\nasmith,dept-sales\n",
        b"username;cohort1;;\r\njdoe;dept-sales\r\nasmith;dept-sales;;\r\n",
    ],
    ids=["rows-without-the-tail", "some-rows-with-it"],
)
def test_a_header_ending_in_delimiters_names_no_more_columns(tmp_path: Path, data: bytes) -> None:
    csv_file = read(tmp_path, data)
    assert csv_file.problems == ()
    assert usernames(csv_file) == ["jdoe", "asmith"]


def test_a_field_under_an_unnamed_column_is_still_a_row_too_wide(tmp_path: Path) -> None:
    (problem,) = read(tmp_path, b"username,cohort1,\njdoe,dept-sales,x\n").problems
    assert "3 fields but the header has 2" in problem.message


def test_a_file_of_many_bad_rows_lists_twenty_and_counts_the_rest(tmp_path: Path) -> None:
    rows = b"".join(b"user %d,hr\n" % i for i in range(50))
    problems = read(tmp_path, b"username,cohort1\n" + rows).problems
    assert len(problems) == 21
    assert all("is not valid" in p.message for p in problems[:20])
    counted = problems[20]
    assert counted.position == Position("data/members.csv", 22)
    assert counted.message.startswith("and 30 more problem(s) from this line on, not listed")
    assert (counted.is_warning, counted.count) == (False, 30)
    assert str(ConfigError(list(problems))) == "50 problem(s) in the config"


def test_a_segment_column_is_said_to_be_unread(tmp_path: Path) -> None:
    csv_file = read(tmp_path, b"username,segment1\njdoe,sales\nasmith,support\n")
    (warning,) = csv_file.problems
    assert warning.is_warning and warning.position == Position("data/members.csv", 1)
    assert warning.message.startswith("column 'segment1' is not read")
    assert warning.hint == "if 'segment1' names each row's segment, rename it cohort1"
    assert usernames(csv_file) == ["jdoe", "asmith"]  # read as before: every row a member
    assert read(tmp_path, b"username,cohort1,segment\njdoe,sales,x\n").problems == ()


@pytest.mark.parametrize(
    "data",
    [
        b"username,firstname,lastname,email,department\n"
        b"jdoe,John,Doe,j@x.org,sales\nasmith,Ann,Smith,a@x.org,support\n",
        b"username,Department\njdoe,sales\nasmith,support\n",
        b"username;DEPARTMENT\njdoe;sales\nasmith;support\n",
    ],
    ids=["bulk-upload-file", "capitalised", "upper-case"],
)
def test_a_department_column_is_said_not_to_assign_rows(tmp_path: Path, data: bytes) -> None:
    """Pluto's older upload format named each row's segment in a department column."""
    csv_file = read(tmp_path, data)
    (warning,) = csv_file.problems
    assert warning.is_warning and warning.position == Position("data/members.csv", 1)
    assert warning.message.startswith("column 'department' is not read")
    assert "every row is a member of each segment that reads the file" in warning.message
    assert warning.hint == "if 'department' names each row's segment, rename it cohort1"
    assert usernames(csv_file) == ["jdoe", "asmith"]  # read as before: every row a member
    assert read(tmp_path, b"username,cohort1,department\njdoe,sales,Sales\n").problems == ()


def test_rows_naming_no_segment_are_counted_once(tmp_path: Path) -> None:
    data = b"username,cohort1,cohort2\njdoe,a,\nasmith,,\nbwayne, , \ncat,,b\n"
    csv_file = read(tmp_path, data)
    (warning,) = csv_file.problems
    assert warning.is_warning and warning.position == Position("data/members.csv", 3)
    assert warning.message == "2 row(s) name no segment in their cohort columns (first at line 3)"
    assert warning.hint and "cohort1" in warning.hint
    assert [row.segments for row in csv_file.rows] == [("a",), (), (), ("b",)]
    assert read(tmp_path, b"username\njdoe\n").problems == ()  # a file without cohort columns


def test_whole_numbers_in_cohort_cells_are_counted_once(tmp_path: Path) -> None:
    """Pluto's upload reads a whole number as a segment's database id, not its ID."""
    data = b"username,cohort1,cohort2\njdoe,sales,\nasmith,2024,-3\nbwayne,2024,\ncat,007,2024-01\n"
    csv_file = read(tmp_path, data)
    (warning,) = csv_file.problems
    assert warning.is_warning and warning.position == Position("data/members.csv", 3)
    assert warning.message.startswith(
        "2 row(s) name a segment by a whole number (first at line 3: '2024'): Pluto's own "
        "upload reads such a cell as a segment's database id"
    )
    assert "plutoctl reads it as the segment ID" in warning.message
    assert [row.segments for row in csv_file.rows][1:3] == [("2024", "-3"), ("2024",)]


@pytest.mark.parametrize("value", [b"007", b"2024-01", b"+5", b"-0", b"12345678901234567890"])
def test_what_moodle_reads_as_an_idnumber_is_not_called_a_number(
    tmp_path: Path, value: bytes
) -> None:
    assert read(tmp_path, b"username,cohort1\njdoe,%s\n" % value).problems == ()


def test_a_line_break_at_the_edge_of_a_quoted_cell_is_trimmed_not_an_open_quote(
    tmp_path: Path,
) -> None:
    """Excel's Alt+Enter after a username (the quote closed) was called "a quote opened
    on this line is never closed"; Moodle trims the line break from the value."""
    csv_file = read(
        tmp_path,
        b'username,email,cohort1\r\n"amelia.hughes\r\n",a@x,"seg-a\n"\r\nben,b@x,seg-a\r\n',
    )
    assert csv_file.problems == ()
    assert [(row.username, row.segments, row.line) for row in csv_file.rows] == [
        ("amelia.hughes", ("seg-a",), 2),
        ("ben", ("seg-a",), 5),  # the first row ran over lines 2 to 4
    ]
    inside = read(tmp_path, b'username,cohort1\r\n"amelia\r\nhughes",seg-a\r\n')
    (problem,) = inside.problems  # a line break inside the value: not one of its rows
    assert "is never closed" in problem.message
