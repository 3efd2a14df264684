"""Usernames are read as Moodle cleans them (PARAM_USERNAME): trimmed and lowercased,
with one warning per file; what Moodle would reject stays an error with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from plutoctl.config import load_config
from plutoctl.config.usernames import clean_username
from plutoctl.errors import ConfigError, Position

HEADER = "version: 1\nsites:\n  demo:\n    url: sandbox:demo.db\n"


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [("S013", "s013"), (" jdoe ", "jdoe"), ("\tAnn.Smith\r\n", "ann.smith"), ("jdoe", "jdoe")],
    ids=["capitals", "spaces", "tabs-and-capitals", "unchanged"],
)
def test_clean_username_trims_and_lowercases(raw: str, cleaned: str) -> None:
    assert clean_username(raw) == cleaned


def test_yaml_usernames_are_normalised_with_one_warning(tmp_path: Path) -> None:
    path = tmp_path / "segments.yaml"
    path.write_text(
        HEADER + "segments:\n"
        "  hr:\n    name: HR\n    members: [S013, ' jdoe ', asmith]\n    exclude: [KLee]\n",
        encoding="utf-8",
    )
    loaded = load_config(path)
    segment = loaded.config.segments["hr"]
    assert segment.members == ["s013", "jdoe", "asmith"]
    assert segment.exclude == ["klee"]
    (warning,) = [w for w in loaded.warnings if "normalised" in w.message]
    assert warning.is_warning
    assert "3 usernames were normalised" in warning.message
    assert "'S013' -> 's013'" in warning.message
    assert warning.position.file == str(path) and warning.position.line == 8


def test_csv_usernames_are_normalised_with_one_warning_per_file(tmp_path: Path) -> None:
    (tmp_path / "hr.csv").write_text(
        "username,cohort1\njdoe,hr\nS013,hr\nAnn.Smith ,hr\n", encoding="utf-8"
    )
    path = tmp_path / "segments.yaml"
    path.write_text(HEADER + "segments:\n  hr: {name: HR, members_csv: hr.csv}\n")
    loaded = load_config(path)
    assert [n.username for n in loaded.csv_members["hr"]] == ["jdoe", "s013", "ann.smith"]
    (warning,) = [w for w in loaded.warnings if "normalised" in w.message]
    assert warning.position == Position(str(tmp_path / "hr.csv"), 3)
    assert "2 usernames were normalised" in warning.message
    assert "'S013' -> 's013'" in warning.message


def test_a_normalised_username_meets_its_duplicate(tmp_path: Path) -> None:
    (tmp_path / "hr.csv").write_text("username,cohort1\njdoe,hr\nJDOE,hr\n", encoding="utf-8")
    path = tmp_path / "segments.yaml"
    path.write_text(HEADER + "segments:\n  hr: {name: HR, members_csv: hr.csv}\n")
    loaded = load_config(path)
    assert [n.username for n in loaded.csv_members["hr"]] == ["jdoe"]
    assert any("listed twice" in w.message for w in loaded.warnings)


@pytest.mark.parametrize(
    "bad", ["John Doe", "jdoe!", "josé", "a/b"], ids=["inner-space", "bang", "accent", "slash"]
)
def test_characters_moodle_rejects_stay_errors_with_file_and_line(tmp_path: Path, bad: str) -> None:
    (tmp_path / "hr.csv").write_text(f"username,cohort1\njdoe,hr\n{bad},hr\n", encoding="utf-8")
    path = tmp_path / "segments.yaml"
    path.write_text(
        HEADER + "segments:\n  hr:\n    name: HR\n    members_csv: hr.csv\n"
        f"    members: ['{bad}']\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    errors = [p for p in caught.value.problems if not p.is_warning]
    assert [(p.position.file, p.position.line) for p in errors] == [
        (str(tmp_path / "hr.csv"), 3),
        (str(path), 9),
    ]
    assert all("is not valid" in p.message for p in errors)
