"""No input makes plutoctl hang, eat the machine or print a traceback.

Each input below broke plutoctl once (a traceback, a hang, gigabytes of memory); each
must now be one clear problem at its place, exit 1 (64 for a bad option).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from plutoctl.cli import main
from plutoctl.config import load_config
from plutoctl.config.input_files import FileRefusedError, read_bounded
from plutoctl.config.yaml_bounds import MAX_DEPTH, MAX_EXPANDED
from plutoctl.errors import ConfigError, ExitCode

HEAD = "version: 1\nsites:\n  demo:\n    url: sandbox:demo.db\n"


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """A 'billion laughs': each level lists the one below ``width`` times."""
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return HEAD + "segments:\n  s: {name: S}\n" + "\n".join(lines) + "\n"


CASES = {
    # name: (text, where, what the message says)
    "alias bomb": (alias_bomb(), ":11:", f"expand to more than {MAX_EXPANDED:,} values"),
    "merge bomb": (
        HEAD
        + "a: &a {x: 1, y: 2, z: 3}\n"
        + "".join(
            f"m{i}: &m{i} {{<<: [{', '.join([f'*m{i - 1}' if i else '*a'] * 8)}]}}\n"
            for i in range(9)
        ),
        ":",
        "expand to more than",
    ),
    "deep flow nesting": (HEAD + "x: " + "[" * 600 + "]" * 600 + "\n", ":5:", "nested more"),
    "deep block nesting": (
        HEAD + "".join("  " * i + f"k{i}:\n" for i in range(600)) + "  " * 600 + "v\n",
        ":",
        f"nested more than {MAX_DEPTH} levels",
    ),
    "self-referencing alias": (HEAD + "a: &a [1, *a]\n", ":5:4:", "alias (or a '<<' merge) of"),
    "self-referencing merge": (HEAD + "a: &a\n  <<: *a\n  x: 1\n", ":", "of itself"),
    "NUL byte": (HEAD + "segments:\n  s: {name: S\x00}\n", ":6:", "a NUL byte"),
    "5,000-digit integer": (
        "version: " + "9" * 5000 + "\nsites:\n  d:\n    url: sandbox:d.db\n",
        ":1:",
        "version",
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_hostile_yaml_is_one_clear_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    text, where, what = CASES[case]
    config = tmp_path / "segments.yaml"
    config.write_text(text, encoding="utf-8")
    code = main(["validate", "-c", str(config)])
    err = capsys.readouterr().err
    assert code == ExitCode.ERROR, err
    assert "Traceback" not in err
    assert f"{config}{where}" in err
    assert what in err


def test_the_alias_bomb_is_refused_before_it_is_expanded(tmp_path: Path) -> None:
    # 9**12 values if expanded; refused while counting, so the test ends at once.
    config = tmp_path / "segments.yaml"
    config.write_text(alias_bomb(levels=12), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert "hint:" in caught.value.problems[0].render()


def test_aliases_within_the_bound_still_work(tmp_path: Path) -> None:
    config = tmp_path / "segments.yaml"
    config.write_text(
        HEAD + "segments:\n  a: &seg {name: Same}\n  b: *seg\n  c: {<<: *seg, visible: false}\n",
        encoding="utf-8",
    )
    loaded = load_config(config)
    assert {s.name for s in loaded.config.segments.values()} == {"Same"}


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_device_as_the_config_is_refused(device: str, capsys: pytest.CaptureFixture[str]) -> None:
    if not os.path.exists(device):
        pytest.skip(f"{device} is not on this system")
    assert main(["validate", "-c", device]) == 1
    err = capsys.readouterr().err
    assert f"{device}: the config file is not a regular file (it is a device)" in err


def test_a_fifo_as_the_config_is_refused_without_blocking(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "segments.yaml"
    os.mkfifo(fifo)  # opening it to read would block until a writer came
    assert main(["validate", "-c", str(fifo)]) == 1
    assert "is not a regular file (it is a pipe)" in capsys.readouterr().err


def test_a_fifo_as_members_csv_is_refused_without_blocking(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.mkfifo(tmp_path / "members.csv")
    config = tmp_path / "segments.yaml"
    config.write_text(HEAD + "segments:\n  s: {name: S, members_csv: members.csv}\n")
    assert main(["validate", "-c", str(config)]) == 1
    assert "the CSV file is not a regular file (it is a pipe)" in capsys.readouterr().err


def test_files_past_the_limit_are_refused_reading_no_further(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"x" * 101)
    assert read_bounded(path, 101) == b"x" * 101
    with pytest.raises(FileRefusedError, match="larger than"):
        read_bounded(path, 100)


def test_a_config_past_the_limit_is_refused_by_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real limit is 64 MiB; a smaller one keeps the test light.
    monkeypatch.setattr("plutoctl.config.load.MAX_CONFIG_BYTES", 1024)
    config = tmp_path / "segments.yaml"
    config.write_text(HEAD + "#" * 2000 + "\n")
    assert main(["validate", "-c", str(config)]) == 1
    assert "the config file is larger than" in capsys.readouterr().err


def test_a_config_that_is_a_symbolic_link_loop_says_so_in_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.symlink("b.yaml", tmp_path / "a.yaml")
    os.symlink("a.yaml", tmp_path / "b.yaml")
    for command in ("validate", "plan"):
        assert main([command, "-c", str(tmp_path / "a.yaml")]) == 1
        err = capsys.readouterr().err
        assert "cannot read the config file: Too many levels of symbolic links" in err
        assert "not found" not in err


def test_a_directory_as_segments_csv_says_it_is_a_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "segments").mkdir()
    config = tmp_path / "segments.yaml"
    config.write_text(HEAD + "segments_csv: segments\nsegments: {}\n")
    assert main(["validate", "-c", str(config)]) == 1
    err = capsys.readouterr().err
    assert "segments_csv: 'segments' is a directory, not a CSV file" in err
    assert "not found" not in err


def test_a_directory_as_members_csv_says_it_is_a_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "members").mkdir()
    config = tmp_path / "segments.yaml"
    config.write_text(HEAD + "segments:\n  s: {name: S, members_csv: members}\n")
    assert main(["validate", "-c", str(config)]) == 1
    err = capsys.readouterr().err
    assert "members_csv 'members' is a directory, not a CSV file" in err
    assert "not found" not in err


@pytest.mark.parametrize(
    "key", ["members_csv", "segments_csv", "url"], ids=["members_csv", "segments_csv", "sandbox"]
)
@pytest.mark.parametrize("path", ["loop", "a\\0b.csv"], ids=["symlink loop", "NUL"])
def test_a_path_no_file_can_have_is_a_problem_at_its_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str, path: str
) -> None:
    """Symbolic links in a loop, or a NUL character: named at the key, never a crash."""
    os.symlink("loop-back", tmp_path / "loop")
    os.symlink("loop", tmp_path / "loop-back")
    declared = {
        "members_csv": HEAD + f'segments:\n  s: {{name: S, members_csv: "{path}"}}\n',
        "segments_csv": HEAD + f'segments_csv: "{path}"\nsegments: {{}}\n',
        "url": f'version: 1\nsites:\n  demo:\n    url: "sandbox:{path}"\nsegments: {{}}\n',
    }
    config = tmp_path / "segments.yaml"
    config.write_text(declared[key])
    for command in ("validate", "plan"):
        assert main([command, "-c", str(config)]) == ExitCode.ERROR
        err = capsys.readouterr().err
        reason = "lead round in a loop" if path == "loop" else "holds a NUL character"
        line = {"members_csv": 6, "segments_csv": 5, "url": 4}[key]
        assert f"segments.yaml:{line}:" in err, err
        assert reason in err, err


@pytest.mark.parametrize("has_quote", [False, True], ids=["no quote", "open quote"])
def test_an_over_long_csv_field_says_what_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], has_quote: bool
) -> None:
    row = ('"ann,' if has_quote else "") + "a" * 200_000 + ",s\n"
    (tmp_path / "members.csv").write_text("username,cohort1\nbob,s\n" + row)
    config = tmp_path / "segments.yaml"
    config.write_text(HEAD + "segments:\n  s: {name: S, members_csv: members.csv}\n")
    assert main(["validate", "-c", str(config)]) == 1
    err = capsys.readouterr().err
    assert "members.csv:3: a field starting on this line is longer than 131,072 characters" in err
    assert ("close it" in err) is has_quote


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN", "infinity"])
@pytest.mark.parametrize("command", ["plan", "apply", "export"])
def test_a_timeout_that_is_not_a_finite_number_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], value: str, command: str
) -> None:
    code = main([command, "--timeout", value])
    err = capsys.readouterr().err
    if "No such option" in err:
        pytest.skip(f"{command} takes no --timeout")
    assert code == ExitCode.USAGE == 64
    assert "Invalid value for '--timeout'" in err
