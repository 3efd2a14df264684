"""``plutoctl validate`` and ``plutoctl schema``: output streams and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from plutoctl.cli import cli, main
from plutoctl.cli.validate_cmd import config_json_schema
from plutoctl.config.yaml_positions import parse_yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = [ROOT / "segments.yaml.example", *sorted((ROOT / "examples").rglob("*.yaml"))]
GOOD = "version: 1\nsites:\n  demo:\n    url: sandbox:demo.db\nsegments:\n  s: {name: S}\n"


def test_validate_example_prints_summary() -> None:
    result = CliRunner().invoke(
        cli, ["validate", "-c", "segments.yaml.example"], catch_exceptions=False
    )
    assert result.exit_code == 0
    assert result.stdout == "OK: 4 segments, 1 course, 1 site (segments.yaml.example)\n"
    assert result.stderr == ""


def test_validate_defaults_to_segments_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "segments.yaml").write_text(GOOD)
    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "OK: 1 segment, 0 courses, 1 site (segments.yaml)\n"
    assert captured.err == ""


def test_warnings_go_to_stderr_and_keep_exit_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = GOOD.replace("{name: S}", "{name: S, members: [jdoe], exclude: [jdoe]}")
    (tmp_path / "c.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "-c", "c.yaml"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "OK: 1 segment, 0 courses, 1 site (c.yaml)\n"
    assert captured.err == (
        "c.yaml:6:26: warning: segments.s.members.0: "
        "'jdoe' is in both members and exclude; exclude wins\n"
    )


def test_problems_go_to_stderr_sorted_with_exit_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m.csv").write_text("username,cohort1\njdoe,ghost\n")
    text = GOOD + "  t: {name: T, members_csv: m.csv}\n  u: {name: U, visble: true}\n"
    (tmp_path / "c.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "-c", "c.yaml"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines == [
        "c.yaml:7:16: warning: segments.t.members_csv: no row of m.csv names this segment",
        "c.yaml:8:16: unknown key 'visble' in segments.u",
        "  hint: did you mean 'visible'?",
        "m.csv:2: unknown segment 'ghost': the config does not declare it",
        "  hint: declared segments: s, t, u",
        "error: 2 problem(s) in the config",
    ]


def test_missing_config_is_exit_one_with_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "-c", "nope.yaml"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("nope.yaml: config file not found\n  hint: ")
    assert err.endswith("error: 1 problem(s) in the config\n")


@pytest.mark.parametrize(
    "command",
    [
        ["validate"],
        ["plan"],
        ["apply", "--auto-approve"],
        ["sites"],
        ["explain", "someone"],
        ["export", "--site", "demo"],
    ],
)
def test_a_directory_as_config_is_the_same_error_in_every_command(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    (tmp_path / "configs").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main([*command, "-c", "configs"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "configs: the config file is a directory, not a file\n"
        "  hint: name a file\n"
        "error: 1 problem(s) in the config\n"
    )


@pytest.mark.parametrize(
    "argv", [["validate", "--bogus"], ["validate", "-c"], ["schema", "extra-arg"]]
)
def test_usage_errors_exit_64(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 64
    assert "Error:" in capsys.readouterr().err


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    from plutoctl.errors import ConfigError

    with pytest.raises(ConfigError):
        main(["--debug", "validate", "-c", str(tmp_path / "nope.yaml")])


def test_validate_help_has_an_example() -> None:
    result = CliRunner().invoke(cli, ["validate", "--help"])
    assert result.exit_code == 0
    assert "Example: plutoctl validate -c segments.yaml" in result.stdout


# --- schema --------------------------------------------------------------------------


def test_schema_command_prints_json_schema() -> None:
    result = CliRunner().invoke(cli, ["schema"], catch_exceptions=False)
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"].startswith("plutoctl config")
    assert set(schema["properties"]) == {
        "version",
        "sites",
        "defaults",
        "segments_csv",
        "segments",
        "courses",
        "policy",
        "required_version",
        "acknowledge",
    }
    assert schema["additionalProperties"] is False
    jsonschema.Draft202012Validator.check_schema(schema)


def example_data(path: Path) -> object:
    document = parse_yaml(path.read_text(encoding="utf-8"), str(path))
    assert document.problems == []
    return document.data


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_validate_against_the_json_schema(example: Path) -> None:
    jsonschema.validate(example_data(example), config_json_schema())


@pytest.mark.parametrize(
    "change",
    [
        {"version": 2},
        {"segmnts": {}},
        {"segments": {"s": {"name": "S", "membership": "sometimes"}}},
        {"segments": {"s": {"name": "S", "rules": [{"field": "a", "match": "equals"}]}}},
        {"policy": {"max_removals": "lots"}},
    ],
    ids=["version", "unknown-key", "membership", "match", "max-removals"],
)
def test_json_schema_rejects_broken_configs(change: dict[str, object]) -> None:
    data = example_data(ROOT / "segments.yaml.example")
    assert isinstance(data, dict)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**data, **change}, config_json_schema())


ACK_CONFIG = """\
version: 1
sites:
  demo: {url: "sandbox:demo.db"}
segments:
  sales/emea: {name: Sales EMEA}
courses:
  C1:
    groups:
      team/a: {name: Team A, segment: sales/emea}
  Maths/101:
    groups:
      g: {name: G, segment: sales/emea}
acknowledge:
  removals:
"""


@pytest.mark.parametrize("name", ["C1/team/a", "Maths/101/g", "sales/emea", "C1", "Maths/101"])
def test_acknowledged_removals_may_name_what_holds_a_slash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    config = tmp_path / "segments.yaml"
    config.write_text(ACK_CONFIG + f"    {name}: 3\n", encoding="utf-8")
    assert main(["validate", "-c", str(config)]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("name", ["C1/team", "C1/team/b", "Maths/g", "C2/g"])
def test_acknowledged_removals_of_undeclared_groups_are_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    config = tmp_path / "segments.yaml"
    config.write_text(ACK_CONFIG + f"    {name}: 3\n", encoding="utf-8")
    assert main(["validate", "-c", str(config)]) == 1
    assert f"{name} is not a group the config declares" in capsys.readouterr().err


def test_an_empty_members_csv_is_an_error_and_an_unmanaged_exclude_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "segments.yaml"
    config.write_text(
        GOOD + "  big:\n    name: Big\n    members_csv:\n  ex:\n    name: Ex\n    exclude: [ann]\n",
        encoding="utf-8",
    )
    assert main(["validate", "-c", str(config)]) == 1
    err = capsys.readouterr().err
    assert "segments.yaml:9:5: segments.big.members_csv: members_csv is empty" in err
    assert "segments.yaml:12:5: warning: segments.ex.exclude: exclude does nothing here" in err
    assert "error: 1 problem(s) in the config" in err


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        ('{field: user.suspended, match: exact, value: "no"}', "user.suspended holds 0 or 1"),
        ("{field: user.suspended, match: contains, value: 1}", "cannot take match 'contains'"),
        ("{field: user.suspended, match: in, value: [1, x]}", "holds 0 or 1, not 'x'"),
        ("{field: profile_field_dept, match: exact, value: a}", "not the field's shortname"),
    ],
)
def test_rules_plan_would_refuse_on_any_site_are_refused_by_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rule: str, text: str
) -> None:
    config = tmp_path / "segments.yaml"
    config.write_text(GOOD + f"  r:\n    name: R\n    rules: [{rule}]\n", encoding="utf-8")
    assert main(["validate", "-c", str(config)]) == 1
    assert text in capsys.readouterr().err


def test_a_suspended_rule_of_0_or_1_validates(tmp_path: Path) -> None:
    config = tmp_path / "segments.yaml"
    rule = "{field: user.suspended, match: exact, value: 1}"
    config.write_text(GOOD + f"  r:\n    name: R\n    rules: [{rule}]\n", encoding="utf-8")
    assert main(["validate", "-c", str(config)]) == 0
