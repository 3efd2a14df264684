"""load_config: the whole loader, from file to LoadedConfig or ConfigError."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from plutoctl.config import LoadedConfig, SourcedName, load_config
from plutoctl.errors import ConfigError, Position, Problem

ROOT = Path(__file__).resolve().parents[2]
HEADER = "version: 1\nsites:\n  demo:\n    url: sandbox:demo.db\n"


def write(tmp_path: Path, text: str, name: str = "segments.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path | str) -> list[Problem]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.problems


def test_ids_and_usernames_stay_strings(tmp_path: Path) -> None:
    text = HEADER + (
        "segments:\n"
        "  no: {name: No}\n"
        "  on: {name: 2024}\n"
        "  0123: {name: Zero, members: [0123, 42]}\n"
        "  2024-01-01: {name: Date, visible: no}\n"
    )
    loaded = load_config(write(tmp_path, text))
    segments = loaded.config.segments
    assert list(segments) == ["no", "on", "0123", "2024-01-01"]
    assert segments["on"].name == "2024"
    assert segments["0123"].members == ["0123", "42"]
    assert segments["2024-01-01"].visible is False


@pytest.mark.parametrize(
    ("text", "expected"), [("true", True), ("false", False), ("yes", True), ("off", False)]
)
def test_boolean_fields_accept_yaml_words(tmp_path: Path, text: str, expected: bool) -> None:
    loaded = load_config(
        write(tmp_path, HEADER + f"segments:\n  s:\n    name: S\n    visible: {text}\n")
    )
    assert loaded.config.segments["s"].visible is expected


def test_rule_values_become_text(tmp_path: Path) -> None:
    text = HEADER + (
        "segments:\n  s:\n    name: S\n    rules:\n"
        "      - {field: is_manager, match: exact, value: true}\n"
        "      - {field: level, match: in, value: [1, 2, '03']}\n"
    )
    rules = load_config(write(tmp_path, text)).config.segments["s"].rules
    assert rules[0].value == "1"  # type: ignore[union-attr]
    assert rules[1].value == ["1", "2", "03"]  # type: ignore[union-attr]
    # Which were YAML's true or false is kept: only a checkbox takes them as 1 and 0.
    assert [rule.has_boolean for rule in rules] == [True, False]  # type: ignore[union-attr]


def test_a_rule_value_written_as_true_is_told_from_the_text_true(tmp_path: Path) -> None:
    text = HEADER + (
        "segments:\n  s:\n    name: S\n    rules:\n"
        "      - all:\n"
        "          - {field: department, match: in, value: [x, true]}\n"
        "          - {field: department, match: exact, value: 'true'}\n"
    )
    [rule] = load_config(write(tmp_path, text)).config.segments["s"].rules
    assert [inner.has_boolean for inner in rule.all] == [True, False]  # type: ignore[union-attr]


def test_positions_and_position_of(tmp_path: Path) -> None:
    text = HEADER + "segments:\n  dept-sales:\n    name: Sales\n    members: [jdoe, asmith]\n"
    loaded = load_config(write(tmp_path, text))
    shown = str(tmp_path / "segments.yaml")
    assert loaded.positions[("segments", "dept-sales", "members", 1)] == Position(shown, 8, 21)
    assert loaded.position_of("segments", "dept-sales", "rules", 3) == Position(shown, 6, 3)
    assert loaded.named_members("dept-sales")[0] == SourcedName(
        "jdoe", Position(shown, 8, 15), "members"
    )


def test_relative_path_stays_relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "conf").mkdir()
    write(tmp_path, HEADER + "segments:\n  s: {name: S, members: [Bad!]}\n", "conf/segments.yaml")
    monkeypatch.chdir(tmp_path)
    (problem,) = problems_of("conf/segments.yaml")
    assert str(problem.position) == "conf/segments.yaml:6:26"


def test_csv_members_with_positions(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "teams.csv").write_text(
        "username;cohort1;cohort2\njdoe;team-a;\nasmith;team-b;team-a\nbwayne;team-b;\n"
    )
    (tmp_path / "data" / "sales.csv").write_text("username\r\ncsmith\r\n")
    text = HEADER + (
        "segments:\n"
        "  team-a: {name: A, members_csv: data/teams.csv}\n"
        "  team-b: {name: B, members_csv: data/teams.csv}\n"
        "  sales: {name: Sales, members_csv: data/sales.csv}\n"
    )
    loaded = load_config(write(tmp_path, text))
    csv_path = str(tmp_path / "data" / "teams.csv")
    assert loaded.csv_members["team-a"] == (
        SourcedName("jdoe", Position(csv_path, 2), "members_csv"),
        SourcedName("asmith", Position(csv_path, 3), "members_csv"),
    )
    assert [n.username for n in loaded.csv_members["team-b"]] == ["asmith", "bwayne"]
    assert [n.username for n in loaded.csv_members["sales"]] == ["csmith"]
    assert loaded.warnings == ()


def test_rows_for_a_segment_that_does_not_read_the_file_warn(tmp_path: Path) -> None:
    (tmp_path / "teams.csv").write_text("username,cohort1\njdoe,team-a\nasmith,team-b\n")
    text = HEADER + "segments:\n  team-a: {name: A, members_csv: teams.csv}\n  team-b: {name: B}\n"
    loaded = load_config(write(tmp_path, text))
    (warning,) = loaded.warnings
    assert warning.is_warning
    assert warning.position == Position(str(tmp_path / "teams.csv"), 3)
    assert "team-b" in warning.message


@pytest.mark.parametrize("column", ["cohort", "cohort_1", "cohorts1", "cohortid"])
def test_a_misspelt_cohort_column_is_an_error_not_a_username_only_file(
    tmp_path: Path, column: str
) -> None:
    """Read as a username-only file, it would make every row a member of every segment."""
    (tmp_path / "hr.csv").write_text(f"username,{column}\njdoe,team-a\nasmith,team-b\n")
    text = HEADER + (
        "segments:\n  team-a: {name: A, members_csv: hr.csv}\n"
        "  team-b: {name: B, members_csv: hr.csv}\n"
    )
    (problem,) = problems_of(write(tmp_path, text))
    assert problem.position == Position(str(tmp_path / "hr.csv"), 1)
    assert f"column {column!r} is not a cohort column" in problem.message


@pytest.mark.parametrize("column", ["cohort1", "cohort0", "cohort01"])
def test_cohort_columns_are_numbered_as_moodle_reads_them(tmp_path: Path, column: str) -> None:
    (tmp_path / "hr.csv").write_text(f"username,{column}\njdoe,team-a\nasmith,team-b\n")
    text = HEADER + (
        "segments:\n  team-a: {name: A, members_csv: hr.csv}\n"
        "  team-b: {name: B, members_csv: hr.csv}\n"
    )
    loaded = load_config(write(tmp_path, text))
    assert loaded.warnings == ()
    assert list(loaded.csv_members["team-a"]) == [
        SourcedName("jdoe", Position(str(tmp_path / "hr.csv"), 2), "members_csv")
    ]


def test_a_username_only_file_read_by_two_segments_warns(tmp_path: Path) -> None:
    (tmp_path / "staff.csv").write_text("username\njdoe\nasmith\n")
    text = HEADER + (
        "segments:\n  team-a: {name: A, members_csv: staff.csv}\n"
        "  team-b: {name: B, members_csv: staff.csv}\n"
    )
    loaded = load_config(write(tmp_path, text))
    (warning,) = loaded.warnings
    assert warning.position.line == 7
    assert "staff.csv has no cohortN column" in warning.message
    assert "segments.team-b.members_csv" in warning.message
    assert [e.username for e in loaded.csv_members["team-b"]] == ["jdoe", "asmith"]


def test_member_also_excluded_is_a_warning_not_an_error(tmp_path: Path) -> None:
    text = (
        HEADER
        + "segments:\n  s:\n    name: S\n    members: [jdoe, asmith]\n    exclude: [asmith]\n"
    )
    loaded = load_config(write(tmp_path, text))
    (warning,) = loaded.warnings
    assert warning.is_warning
    assert warning.position.line == 8
    assert "'asmith' is in both members and exclude" in warning.message


def test_partial_site_overlap_is_a_warning(tmp_path: Path) -> None:
    text = (
        "version: 1\nsites:\n  a: {url: 'sandbox:a.db'}\n  b: {url: 'sandbox:b.db'}\n"
        "segments:\n  s: {name: S, sites: [a]}\n"
        "courses:\n  C:\n    groups:\n      g: {name: G, segment: s}\n"
    )
    loaded = load_config(write(tmp_path, text))
    (warning,) = loaded.warnings
    assert "not on site 'b'" in warning.message


def test_every_kind_of_problem_is_reported_at_once(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("username,cohort1\njdoe,ghost\n")
    text = HEADER + (
        "segments:\n"
        "  s:\n    name: S\n    visible: maybe\n"
        "  t:\n    name: T\n    members_csv: m.csv\n    members: [Bad!]\n"
        "courses:\n  C:\n    groups:\n      g: {name: G, segment: nope}\n"
    )
    problems = problems_of(write(tmp_path, text))
    messages = [p.message for p in problems if not p.is_warning]
    assert len(messages) == 4, messages
    assert any(p.is_warning and "no row of" in p.message for p in problems)
    assert any("visible" in m for m in messages)  # schema
    assert any("unknown segment 'nope'" in m for m in messages)  # cross-reference
    assert any("'Bad!' is not valid" in m for m in messages)  # username
    assert any(p.position.file.endswith("m.csv") and p.position.line == 2 for p in problems)
    assert problems == sorted(problems, key=lambda p: (p.position, p.message))


def test_cross_references_still_checked_when_another_part_is_invalid(tmp_path: Path) -> None:
    text = HEADER + (
        "segments:\n  s: {name: S, visible: maybe}\n"
        "courses:\n  C:\n    enrol:\n      - segment: s\n      - segment: ghost\n"
    )
    messages = [p.message for p in problems_of(write(tmp_path, text))]
    assert len(messages) == 2
    assert any("unknown segment 'ghost'" in m for m in messages)
    # 's' failed the schema, yet it is declared: naming it is not a dangling reference.
    assert not any("unknown segment 's'" in m for m in messages)


@pytest.mark.parametrize(
    "token",
    ["3f2a9c0d4b5e6f708192a3b4c5d6e7f8", "$PLUTO_TOKEN-X", "x ${PLUTO_T}"],
)
def test_literal_token_is_refused_without_echo(tmp_path: Path, token: str) -> None:
    text = (
        "version: 1\nsites:\n  primary:\n"
        f"    url: https://learn.example.com\n    token: '{token}'\n"
    )
    (problem,) = problems_of(write(tmp_path, text))
    assert problem.message == (
        "sites.primary.token: a literal token is not allowed; "
        "write ${PLUTO_TOKEN_PRIMARY} and set that variable"
    )
    assert token not in problem.render()


def test_a_shell_style_reference_is_told_to_take_braces(tmp_path: Path) -> None:
    text = (
        "version: 1\nsites:\n  primary:\n"
        "    url: https://learn.example.com\n    token: $PLUTO_TOKEN_LMS\n"
    )
    (problem,) = problems_of(write(tmp_path, text))
    assert problem.message == (
        "sites.primary.token: the token's variable reference needs braces: plutoctl reads "
        "${NAME}, and takes $NAME for a literal token"
    )
    assert problem.hint == "write token: ${PLUTO_TOKEN_LMS}"


@pytest.mark.parametrize("token", ["${lower-case}", "${PLUTO_T:-default}", "${ PLUTO_T }", "${}"])
def test_a_reference_plutoctl_cannot_read_is_not_called_a_literal_token(
    tmp_path: Path, token: str
) -> None:
    text = (
        "version: 1\nsites:\n  primary:\n"
        f"    url: https://learn.example.com\n    token: '{token}'\n"
    )
    (problem,) = problems_of(write(tmp_path, text))
    assert "variable reference is not of the form ${NAME}" in problem.message
    assert "literal" not in problem.message
    assert problem.hint == "write token: ${PLUTO_TOKEN_PRIMARY} and set that variable"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("    token: [X]\n", ["sites.p.token: should be text"]),
        ("    token:\n", ["sites.p: missing token"]),
        ("", ["sites.p: missing token"]),
    ],
)
def test_a_token_given_but_not_as_text_is_not_also_missing(
    tmp_path: Path, given: str, expected: list[str]
) -> None:
    text = "version: 1\nsites:\n  p:\n    url: https://l.example.com\n" + given
    assert [p.message for p in problems_of(write(tmp_path, text))] == expected


@pytest.mark.parametrize("value", ['""', "'  '"])
def test_a_blank_members_csv_is_called_empty_once(tmp_path: Path, value: str) -> None:
    text = HEADER + f"segments:\n  s:\n    name: S\n    members_csv: {value}\n"
    messages = [p.message for p in problems_of(write(tmp_path, text))]
    assert messages == [
        "segments.s.members_csv: members_csv is empty: name the CSV file, or leave the key out"
    ]


def test_a_blank_segments_csv_is_called_empty(tmp_path: Path) -> None:
    text = HEADER + 'segments_csv: ""\nsegments: {}\n'
    messages = [p.message for p in problems_of(write(tmp_path, text))]
    assert messages == ["segments_csv: the file name is empty"]


@pytest.mark.parametrize(
    "rule",
    ["{any: [{field: d, match: exact, value: x}]}", "{not: {field: d, match: exact, value: x}}"],
)
def test_any_and_not_rules_get_one_error_saying_how_rules_combine(
    tmp_path: Path, rule: str
) -> None:
    text = HEADER + f"segments:\n  s:\n    name: S\n    rules:\n      - {rule}\n"
    (problem,) = problems_of(write(tmp_path, text))
    assert problem.message == (
        "segments.s.rules.0: a rule is a mapping: {field, match, value} or {all: [rules]}"
    )
    assert problem.hint is not None and "alternatives" in problem.hint


def test_segment_ids_that_differ_only_in_case_are_warned_of(tmp_path: Path) -> None:
    text = HEADER + "segments:\n  dept-sales: {name: A}\n  Dept-Sales: {name: B}\n  hr: {name: C}\n"
    loaded = load_config(write(tmp_path, text))  # a warning: PostgreSQL sites take both
    [warning] = [p for p in loaded.warnings if "differ only in case" in p.message]
    assert "'dept-sales' and 'Dept-Sales'" in warning.message
    assert warning.position.line == 7


@pytest.mark.parametrize(
    ("second", "how"),
    [
        ("vertrieb-mu\u0308nchen", "in how their letters are encoded (U+00FC vs U+0075 U+0308)"),
        ("Vertrieb-München", "in case:"),
        ("vertrieb-m\u00fcnche\uff4e", "in how their letters are written (a ligature"),
        ("Vertrieb-M\u00fcnche\uff4e", "in case, accents or how their letters are written"),
        ("vertrieb-munchen", "in case, accents or how their letters are written"),
    ],
    ids=["unicode-form", "case", "full-width", "case-and-full-width", "accent"],
)
def test_segment_ids_one_id_to_a_case_and_accent_blind_database_are_warned_of(
    tmp_path: Path, second: str, how: str
) -> None:
    """Written as one character or as u and a combining mark (as macOS writes file names),
    the two IDs looked alike and made two segments; MySQL's collation holds them as one."""
    text = HEADER + f'segments:\n  vertrieb-münchen: {{name: A}}\n  "{second}": {{name: B}}\n'
    loaded = load_config(write(tmp_path, text))
    [warning] = [p for p in loaded.warnings if "differ only" in p.message]
    assert how in warning.message, warning.message
    assert warning.position.line == 7


def test_token_reference_is_accepted_and_not_resolved(tmp_path: Path) -> None:
    text = "version: 1\nsites:\n  p:\n    url: https://l.example.com\n    token: ${UNSET_VAR_X}\n"
    site = load_config(write(tmp_path, text)).config.sites["p"]
    assert site.token_variable == "UNSET_VAR_X"


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://learn.example.com", True),
        ("https://learn.example.com/pluto/", True),
        ("http://127.0.0.1:8080", True),
        ("http://localhost/moodle", True),
        ("http://[::1]:9000", True),
        ("sandbox:data/x.db", True),
        ("http://learn.example.com", False),
        ("http://127.0.0.1.example.com", False),
        ("ftp://learn.example.com", False),
        ("learn.example.com", False),
        ("https://", False),
        ("https://u:p@learn.example.com", False),
        ("https://learn.example.com/?wstoken=abc", False),
    ],
)
def test_url_schemes(tmp_path: Path, url: str, ok: bool) -> None:
    token = "" if url.startswith("sandbox:") else "    token: ${T}\n"
    path = write(tmp_path, f"version: 1\nsites:\n  s:\n    url: '{url}'\n{token}")
    if ok:
        assert load_config(path).config.sites["s"].url == url
    else:
        (problem,) = problems_of(path)
        assert problem.message.startswith("sites.s.url: ")
        assert "abc" not in problem.render() and ":p@" not in problem.render()


@pytest.mark.parametrize(
    ("url", "root"),
    [
        ("https://learn.example.com/webservice/rest/server.php", "https://learn.example.com"),
        ("https://learn.example.com/pluto/webservice/", "https://learn.example.com/pluto"),
        ("http://127.0.0.1:8080/webservice/rest/server.php", "http://127.0.0.1:8080"),
        ("https://webservice.example.com/webservice", "https://webservice.example.com"),
    ],
)
def test_a_url_of_the_web_service_endpoint_is_told_to_give_the_site_root(
    tmp_path: Path, url: str, root: str
) -> None:
    """Pasted from the endpoint, it passed validate and every plan was an HTTP 404."""
    path = write(tmp_path, f"version: 1\nsites:\n  s:\n    url: '{url}'\n    token: ${{T}}\n")
    (problem,) = problems_of(path)
    assert problem.message == "sites.s.url: the URL is the web service's, not the site's"
    assert problem.hint is not None and f"give the site root ({root})" in problem.hint


def test_missing_config_file(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path / "nope.yaml")
    assert problem.message == "config file not found"
    assert problem.hint and "-c FILE" in problem.hint


def test_config_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "segments.yaml"
    path.write_bytes(HEADER.encode() + b"segments:\n  s: {name: Fran\xe7ois}\n")
    (problem,) = problems_of(path)
    assert problem.position.line == 6
    assert "not UTF-8" in problem.message


def test_managed_membership_follows_declared_keys(tmp_path: Path) -> None:
    text = HEADER + "segments:\n  a: {name: A}\n  b: {name: B, members: []}\n"
    segments = load_config(write(tmp_path, text)).config.segments
    assert not segments["a"].has_managed_membership
    assert segments["b"].has_managed_membership


# --- the shipped examples ----------------------------------------------------------

EXAMPLES = [ROOT / "segments.yaml.example", *sorted((ROOT / "examples").rglob("*.yaml"))]


def seed_usernames(loaded: LoadedConfig, site: str) -> set[str]:
    seed = loaded.config.sites[site].seed
    assert seed, f"example site {site} has no seed"
    with loaded.resolve(seed).open(encoding="utf-8-sig", newline="") as handle:
        return {row["username"] for row in csv.DictReader(handle)}


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_are_clean(example: Path) -> None:
    loaded = load_config(example)
    assert loaded.warnings == ()
    assert loaded.config.segments
    assert all(site.is_sandbox for site in loaded.config.sites.values())


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_usernames_exist_in_their_seeds(example: Path) -> None:
    loaded = load_config(example)
    config = loaded.config
    for segment_id, segment in config.segments.items():
        named = [
            *loaded.named_members(segment_id),
            *loaded.named_excludes(segment_id),
            *loaded.csv_members.get(segment_id, ()),
        ]
        for site in config.sites_for(segment.sites):
            missing = {n.username for n in named} - seed_usernames(loaded, site)
            assert not missing, f"{segment_id} on {site}: {missing}"


def test_sections_left_empty_are_empty(tmp_path: Path) -> None:
    text = HEADER + "defaults:\nsegments:\n  # dept-sales: {name: Sales}\ncourses:\npolicy:\n"
    config = load_config(write(tmp_path, text)).config
    assert config.segments == {}
    assert config.courses == {}
    assert config.policy.max_removals == "25%"


def test_a_removal_count_below_one_is_cited_at_its_own_key(tmp_path: Path) -> None:
    text = HEADER + (
        "segments:\n  s1: {name: S, members: []}\n  s2: {name: T, members: []}\n"
        "acknowledge:\n  removals:\n    s1: 2\n    s2: 0\n"
    )
    (problem,) = problems_of(write(tmp_path, text))
    assert problem.position == Position(str(tmp_path / "segments.yaml"), 11, 5)
    assert problem.message == "acknowledge.removals.s2: should be at least 1"


@pytest.mark.parametrize(
    ("segment", "message", "hint"),
    [
        ("{name: A, members: ann}", "members: should be a list", "members: [jdoe, asmith]"),
        ("{name: A, sites: demo}", "sites: should be a list", "sites: [primary]"),
        ("{name: A, exclude: ann}", "exclude: should be a list", "exclude: [contractor1]"),
        ("{name: }", "name: is empty", "give it a value, e.g. name: Sales"),
        ("{name: A, members_csv: [x.csv, y.csv]}", "members_csv: should be one file", "cohort1"),
        ("{name: A, members: }", "members: is empty", "write an empty list as members: []"),
    ],
    ids=["members", "sites", "exclude", "name", "members-csv", "members-empty"],
)
def test_a_value_of_the_wrong_shape_is_told_how_to_write_it(
    tmp_path: Path, segment: str, message: str, hint: str
) -> None:
    text = f"version: 1\nsites: {{demo: {{url: 'sandbox:s.db'}}}}\nsegments:\n  a: {segment}\n"
    (problem,) = problems_of(write(tmp_path, text))
    assert problem.message == f"segments.a.{message}"
    assert problem.hint is not None and hint in problem.hint


def test_a_windows_path_to_a_members_csv_is_told_to_use_slashes(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "hr.csv").write_text("username\njdoe\n", encoding="utf-8")
    text = (
        "version: 1\nsites: {demo: {url: 'sandbox:s.db'}}\n"
        "segments:\n  hr: {name: HR, members_csv: 'data\\hr.csv'}\n"
    )
    (problem,) = problems_of(write(tmp_path, text))
    assert "not found" in problem.message
    assert problem.hint is not None and "write paths with / (as data/hr.csv)" in problem.hint


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Year<7", "the name holds an HTML tag: the site cleans it to 'Year'"),
        ("'<b>Sales</b>'", "the name holds an HTML tag: the site cleans it to 'Sales'"),
        ("'Grade <5 (y)'", "the name holds an HTML tag: the site cleans it to 'Grade '"),
        ("'Sales '", "the name starts or ends with white space"),
        ("a < b > c", None),
        ("5 > 3", None),
    ],
    ids=["open-tag", "tag", "unclosed-tag", "trailing-space", "spaced-lt", "lone-gt"],
)
def test_group_names_are_checked_as_moodle_cleans_them(
    tmp_path: Path, name: str, message: str | None
) -> None:
    text = (
        "version: 1\nsites: {demo: {url: 'sandbox:s.db'}}\nsegments: {}\n"
        f"courses:\n  C1:\n    groups:\n      g1: {{name: {name}}}\n"
    )
    path = write(tmp_path, text)
    if message is None:
        assert load_config(path).config.courses["C1"].groups["g1"].name == name
    else:
        (problem,) = problems_of(path)
        assert message in problem.message


def test_a_csv_segment_id_in_another_case_is_named(tmp_path: Path) -> None:
    (tmp_path / "hr.csv").write_text("username,cohort1\njdoe,Seg-A\n")
    text = HEADER + (
        "segments:\n  seg-a: {name: A, members_csv: hr.csv}\n"
        "  seg-b: {name: B, members_csv: hr.csv}\n"
    )
    (problem,) = [p for p in problems_of(write(tmp_path, text)) if not p.is_warning]
    assert problem.position == Position(str(tmp_path / "hr.csv"), 2)
    assert problem.message == "unknown segment 'Seg-A': the config does not declare it"
    assert (
        problem.hint == "did you mean 'seg-a'? Case matters: declared segments are matched exactly"
    )


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ('"10"', "write the count unquoted, as max_removals: 10"),
        ('"25 %"', "write it with no space before the %, as 25%"),
        ("0.25", "a percentage takes a %, as 25%"),
        ("150%", "a percentage goes up to 100%"),
        ("-3", "not below 0"),
    ],
    ids=["quoted-count", "space", "fraction", "over-100", "negative"],
)
def test_a_max_removals_written_almost_right_is_told_what_is_wrong(
    tmp_path: Path, value: str, said: str
) -> None:
    """Each was 'must be a count (0 or more) or a percentage like 25%', which a
    percentage of 150% or a quoted count already is, as far as its writer can tell."""
    text = HEADER + f"policy:\n  max_removals: {value}\n"
    (problem,) = problems_of(write(tmp_path, text))
    assert problem.message.startswith("policy.max_removals: must be a count")
    assert problem.message.endswith(said), problem.message


def test_a_group_key_indented_one_level_too_shallow_is_told_to_indent_it(tmp_path: Path) -> None:
    """'segment:' written under groups, not under g1, read as a group named 'segment';
    the error named no indentation, and g1 silently lost its binding."""
    text = HEADER + (
        "segments:\n  s: {name: S, members: []}\n"
        "courses:\n  C1:\n    groups:\n      g1:\n        name: G\n      segment: s\n"
    )
    (problem,) = problems_of(write(tmp_path, text))
    assert problem.message == "courses.C1.groups.segment: should be a mapping (key: value lines)"
    assert problem.hint == (
        "segment is a key of a group, read here as a group's ID: indent it under the group above"
    )


def test_rule_values_are_trimmed_as_php_trims_them_when_checked(tmp_path: Path) -> None:
    """'1' and a no-break space passed as '1' for user.suspended, though rules compare it
    trimmed as PHP does (ASCII white space only), where it is '1\\u00a0' and matches no
    one: the segment emptied."""
    text = HEADER + (
        "segments:\n  s:\n    name: S\n"
        '    rules: [{field: user.suspended, match: exact, value: "1\\u00a0"}]\n'
    )
    (problem,) = problems_of(write(tmp_path, text))
    assert problem.message == "segments.s.rules.0.value: user.suspended holds 0 or 1, not '1\\xa0'"


@pytest.mark.parametrize(
    "rule",
    [
        '{field: dept, match: contains, value: "\\u00a0"}',
        '{field: dept, match: in, value: ["Sales", "\\u00a0"]}',
    ],
)
def test_a_no_break_space_is_a_value_not_a_blank_as_php_trims(tmp_path: Path, rule: str) -> None:
    """PHP's trim keeps a no-break space: such a value matches values holding one, and
    is not the blank value validate refuses (str.strip called it blank)."""
    from plutoctl.config.schema import MatchRule
    from plutoctl.rules.check import condition_problems
    from plutoctl.rules.conditions import Condition

    text = HEADER + f"segments:\n  s:\n    name: S\n    rules: [{rule}]\n"
    parsed = load_config(write(tmp_path, text)).config.segments["s"].rules[0]  # no error
    assert isinstance(parsed, MatchRule)
    problems = condition_problems(Condition.of(parsed), {"dept"}, {"dept": "text"}, ())
    assert problems == []
