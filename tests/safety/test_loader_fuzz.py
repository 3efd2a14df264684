"""Loader fuzzing: no config or CSV text raises anything but ConfigError.

Inputs are built from fragments that broke loaders before (anchors, aliases, merge
keys, deep brackets, NUL and other forbidden characters, huge integers, tabs, tags,
BOMs, bidi controls) mixed with arbitrary text. Each example is small (at most a few
thousand characters) and the loader's own bounds cap what aliases can expand to, so
every example is quick by construction; the test asserts no time.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plutoctl.config import load_config
from plutoctl.config.csvfile import read_members_csv
from plutoctl.config.yaml_bounds import MAX_EXPANDED
from plutoctl.config.yaml_positions import parse_yaml
from plutoctl.errors import ConfigError

FRAGMENTS = [
    "version: 1\n", "sites:\n", "  demo:\n", "    url: sandbox:demo.db\n", "    url: ",
    "https://x.example/?WsToken=1", "segments:\n", "  s:\n", "    name: S\n",
    "    members: [", "    members_csv: ", "m.csv", "    rules:\n", "      - field: city\n",
    "courses:\n", "policy:\n", "  max_removals: ", "10%", "&a ", "&b ", "*a", "*b", "<<: ",
    "<<: [*a, *a]", "&a [*a]", "[", "]", "{", "}", ", ", ": ", "- ", "? ", "\n", "  ",
    "    ", "\t", "'", '"', "#", "!!str ", "!!int ", "!!python/object:os.system ", "!x ",
    "---\n", "...\n", "%YAML 1.1\n", "\x00", "\x07", "\ufeff", "\u202e", "\ud7ff",
    "9" * 4400, "-0", "0x1F", "1e400", ".nan", "~", "null", "True", "no", "2024-01-01",
    "|\n  x\n", ">-\n  y\n", "\\", "%", "@", "`", "\r\n", "\r",
]  # fmt: skip

yaml_texts = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=20)), max_size=80).map(
    "".join
)


def nested_aliases(levels: int, width: int, merge: bool) -> str:
    """A document whose aliases nest ``levels`` deep, ``width`` wide: up to 12**12."""
    out = ["version: 1", "a0: &a0 {k: v}" if merge else "a0: &a0 [x]"]
    for i in range(1, levels + 1):
        refs = ", ".join([f"*a{i - 1}"] * width)
        out.append(f"a{i}: &a{i} {{<<: [{refs}]}}" if merge else f"a{i}: &a{i} [{refs}]")
    return "\n".join(out) + "\n"


def _quick(levels: int, width: int) -> bool:
    """Either small once expanded, or far past the bound (refused while counting): an
    expansion just under the bound is legitimate but slow to build, so it is left out."""
    values = width**levels
    return values <= 5_000 or values >= 10 * MAX_EXPANDED


alias_texts = (
    st.tuples(st.integers(1, 12), st.integers(1, 12), st.booleans())
    .filter(lambda t: _quick(t[0], t[1]))
    .map(lambda t: nested_aliases(*t))
)
deep_texts = st.builds(
    lambda depth, opener: "x: " + opener * depth, st.integers(1, 400), st.sampled_from("[{")
)

CSV_FRAGMENTS = [
    *FRAGMENTS[:8], "username", ",", ";", '"', "\n", "\r\n", "\x00", "\ufeff", "ann",
    "cohort1", "ANN",
]  # fmt: skip
csv_texts = st.lists(st.sampled_from(CSV_FRAGMENTS), max_size=60).map(
    lambda parts: "".join(parts).encode("utf-8", "surrogatepass")
)

FUZZ = settings(
    max_examples=60,
    deadline=None,  # no timing assertion; size bounds the work instead
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)


def load_text(text: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "segments.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        (Path(directory) / "m.csv").write_text("username,cohort1\nann,s\n", encoding="utf-8")
        try:
            load_config(path)
        except ConfigError as exc:
            assert exc.problems, "a ConfigError names at least one problem"
            for problem in exc.problems:
                assert problem.render()


@FUZZ
@given(st.one_of(yaml_texts, alias_texts, deep_texts))
def test_no_config_text_raises_anything_but_config_error(text: str) -> None:
    load_text(text)


@FUZZ
@given(alias_texts)
def test_parse_never_builds_past_the_alias_bound(text: str) -> None:
    document = parse_yaml(text, "x.yaml")
    if document.data is None:
        assert "expand to more than" in document.problems[0].message


@FUZZ
@given(st.binary(max_size=400) | csv_texts)
def test_no_csv_bytes_raise(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "m.csv"
        path.write_bytes(data)
        result = read_members_csv(path, "m.csv")
        assert result.rows or result.problems or not data.strip() or result.rows == ()
