"""The segments CSV reader, its merge with YAML, and the export text it must read back."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plutoctl.config import load_config
from plutoctl.config.segments_csv import read_segments_csv
from plutoctl.errors import ConfigError, Position
from plutoctl.export import segments_csv_text
from plutoctl.model import ExistingSegment, SegmentFields

HEAD = "version: 1\nsites:\n  demo:\n    url: sandbox:demo.db\n"


def read(tmp_path: Path, data: bytes | str):
    path = tmp_path / "segments.csv"
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return read_segments_csv(path, "segments.csv")


@pytest.mark.parametrize(
    ("cell", "visible"),
    [
        ("", None),
        ("yes", True),
        ("Y", True),
        ("true", True),
        ("on", True),
        ("1", True),
        (" YES ", True),
        ("no", False),
        ("N", False),
        ("false", False),
        ("off", False),
        ("0", False),
    ],
    ids=repr,
)
def test_visible_cells(tmp_path: Path, cell: str, visible: bool | None) -> None:
    parsed = read(tmp_path, f"name,idnumber,visible\nSales,dept-sales,{cell}\n")
    assert parsed.problems == ()
    assert parsed.segments[0].visible is visible
    assert ("visible" in parsed.segments[0].stated()) is (visible is not None)


def test_excel_semicolons_bom_crlf_and_quotes(tmp_path: Path) -> None:
    text = 'Name;ID Number;DESCRIPTION\r\n"Sales; EMEA";dept-sales;"Line one\r\nsaid ""hi"""\r\n'
    parsed = read(tmp_path, b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert parsed.problems == ()
    (segment,) = parsed.segments
    assert segment.idnumber == "dept-sales"
    assert segment.name == "Sales; EMEA"
    assert segment.description == 'Line one\r\nsaid "hi"'
    assert segment.position == Position("segments.csv", 2)


@pytest.mark.parametrize(
    "context",
    [
        "contextid\n1",
        "context\nSystem",
        "context\n system ",
        "context\n1",
        "category_id\n0",
        "category\n",
    ],
    ids=lambda c: c.replace("\n", "="),
)
def test_system_context_is_accepted(tmp_path: Path, context: str) -> None:
    column, value = context.split("\n")
    parsed = read(tmp_path, f"name,idnumber,{column}\nSales,dept-sales,{value}\n")
    assert parsed.problems == ()
    assert [s.idnumber for s in parsed.segments] == ["dept-sales"]


def test_a_broken_row_still_declares_its_segment(tmp_path: Path) -> None:
    # So that references to it are not also reported as unknown.
    parsed = read(tmp_path, "name,idnumber,visible\nSales,dept-sales,maybe\n")
    assert [p.message for p in parsed.problems] == [
        "segment 'dept-sales': visible 'maybe' is not yes or no"
    ]
    assert [s.idnumber for s in parsed.segments] == ["dept-sales"]


def test_limits_are_moodles_columns(tmp_path: Path) -> None:
    ok = read(tmp_path, f"name,idnumber\n{'n' * 254},{'i' * 100}\n")
    assert ok.problems == ()
    too_long = read(tmp_path, f"name,idnumber\n{'n' * 255},{'i' * 101}\n")
    assert len(too_long.problems) == 2


def write_config(tmp_path: Path, yaml_tail: str, csv_text: str) -> Path:
    (tmp_path / "segments.csv").write_text(csv_text, encoding="utf-8")
    config = tmp_path / "segments.yaml"
    config.write_text(HEAD + "segments_csv: segments.csv\n" + yaml_tail, encoding="utf-8")
    return config


def test_yaml_adds_to_csv_segments(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        "segments:\n"
        "  dept-sales:\n"
        "    members: [alice]\n"
        "    description: from YAML\n"
        "    protected: true\n"
        "  own:\n"
        "    name: Own\n"
        "courses:\n"
        "  C1:\n"
        "    groups:\n"
        "      g1: {name: G1, segment: dept-support}\n",
        "name,idnumber,description,visible\nSales,dept-sales,,no\nSupport,dept-support,Help,\n",
    )
    loaded = load_config(config)
    segments = loaded.config.segments
    assert list(segments) == ["dept-sales", "own", "dept-support"]
    sales = segments["dept-sales"]
    assert (sales.name, sales.description, sales.visible) == ("Sales", "from YAML", False)
    assert sales.members == ["alice"] and sales.protected
    support = segments["dept-support"]
    assert (support.name, support.description, support.visible) == ("Support", "Help", True)
    assert not support.has_managed_membership
    csv_file = str(tmp_path / "segments.csv")
    assert loaded.position_of("segments", "dept-support") == Position(csv_file, 3)
    assert loaded.position_of("segments", "dept-sales", "name") == Position(csv_file, 2)
    assert loaded.position_of("segments", "dept-sales", "members").file == str(config)


def test_members_csv_rows_may_name_csv_segments(tmp_path: Path) -> None:
    (tmp_path / "members.csv").write_text("username,cohort1\nalice,dept-sales\n", encoding="utf-8")
    config = write_config(
        tmp_path,
        "segments:\n  dept-sales:\n    members_csv: members.csv\n",
        "name,idnumber\nSales,dept-sales\n",
    )
    loaded = load_config(config)
    assert [n.username for n in loaded.csv_members["dept-sales"]] == ["alice"]


def test_a_yaml_name_for_a_csv_segment_cites_both_places(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, "segments:\n  dept-sales:\n    name: Sales\n", "name,idnumber\nSales,dept-sales\n"
    )
    with pytest.raises(ConfigError) as raised:
        load_config(config)
    (problem,) = raised.value.problems
    assert problem.position.file == str(config)
    assert f"{tmp_path / 'segments.csv'}:2" in problem.message


names = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r\n"),
    min_size=1,
    max_size=60,
).filter(lambda s: s.strip())
descriptions = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
ids = st.text(
    st.characters(blacklist_categories=("Cs", "Zs", "Cc")), min_size=1, max_size=100
).filter(lambda s: s == s.strip())


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(ids, names, descriptions, st.booleans()), max_size=8, unique_by=lambda t: t[0]
    )
)
def test_export_text_reads_back_the_same(tmp_path_factory, rows) -> None:
    segments = [
        ExistingSegment(i, idnumber, SegmentFields(name, description, visible))
        for i, (idnumber, name, description, visible) in enumerate(rows)
    ]
    path = tmp_path_factory.mktemp("rt") / "segments.csv"
    path.write_text(segments_csv_text(segments), encoding="utf-8")
    parsed = read_segments_csv(path, "segments.csv")
    # Warnings say what to look at (a description line that reads as a row, a file of
    # no segments); they change nothing read.
    assert [p for p in parsed.problems if not p.is_warning] == []
    got = [(s.idnumber, s.name, s.description or "", s.visible) for s in parsed.segments]
    assert got == [
        (s.idnumber, s.fields.name, s.fields.description, s.fields.visible) for s in segments
    ]


def test_a_quote_left_open_in_a_description_never_hides_segments(tmp_path: Path) -> None:
    data = (
        b'name,idnumber,description,visible\r\nSales,dept-sales,"Sales team,yes\r\n'
        b'Support,dept-support,,\r\nHR,dept-hr,People",no\r\nOps,dept-ops,,\r\n'
    )
    parsed = read(tmp_path, data)
    (problem,) = parsed.problems
    assert problem.position == Position("segments.csv", 2)
    assert "over lines that look like rows of their own" in problem.message
    # A warning: an export writes a description as it is, and one may read as a row.
    assert problem.is_warning


def test_a_description_over_several_lines_is_kept(tmp_path: Path) -> None:
    parsed = read(tmp_path, b'name,idnumber,description\nSales,dept-sales,"One\ntwo, three"\n')
    assert parsed.problems == ()
    assert parsed.segments[0].description == "One\ntwo, three"


def test_a_file_with_a_header_and_no_rows_is_named(tmp_path: Path) -> None:
    parsed = read(tmp_path, b"name,idnumber,description,visible\r\n")
    (problem,) = parsed.problems
    assert problem.is_warning and problem.position == Position("segments.csv", 1)
    assert "a header row and no segments" in problem.message
    assert parsed.segments == ()
