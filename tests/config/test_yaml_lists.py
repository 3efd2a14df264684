"""Long one-line lists read from the text (yaml_lists) load exactly as when composed.

Every test compares ``parse_yaml`` with the list scan allowed and not: the data (its
``repr``, so ``1`` and ``True`` and ``"1"`` differ, and key order counts), the problems
and every position, each list item's included.
"""

from __future__ import annotations

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plutoctl.config.yaml_bounds import MAX_EXPANDED
from plutoctl.config.yaml_lists import MIN_ITEMS, placed, take_flow_lists
from plutoctl.config.yaml_positions import YamlDocument, parse_yaml
from plutoctl.errors import Position

WORDS = [
    "user000800", "ann", "a.b@c+d-e", "_x", "null", "Null", "NULL", "true", "True", "TRUE",
    "false", "FALSE", "0", "123", "0123", "1e3", "0x1f", "9" * 4400, "no", "2024-01-01",
]  # fmt: skip


def both(text: str) -> tuple[YamlDocument, YamlDocument]:
    return parse_yaml(text, "c.yaml"), parse_yaml(text, "c.yaml", allow_list_scan=False)


def assert_same(text: str) -> YamlDocument:
    """Assert the two ways load ``text`` alike; return the document."""
    fast, slow = both(text)
    assert repr(fast.data) == repr(slow.data)
    assert repr(fast.problems) == repr(slow.problems)
    assert dict(fast.positions.items()) == dict(slow.positions.items())
    return fast


def is_taken(text: str) -> bool:
    """Whether the scan finds lists and each is confirmed, so none of them is composed."""
    shorter, lists = take_flow_lists(text)
    if not lists:
        return False
    try:
        node = yaml.compose(shorter, Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        return False
    return node is not None and placed(node, lists) is not None


def words(count: int, start: int = 0) -> str:
    return ", ".join(f"user{i:06d}" for i in range(start, start + count))


def test_a_long_list_is_taken_with_each_item_typed_and_placed() -> None:
    items = ["null", "true", "TRUE", "False", "123", "0123", "1e3", "0"] + [
        f"u{i}" for i in range(MIN_ITEMS)
    ]
    text = f"segments:\n  s:\n    members: [{', '.join(items)}]  # staff\n"
    assert is_taken(text)
    document = assert_same(text)
    members = document.data["segments"]["s"]["members"]  # type: ignore[index]
    assert members[:8] == [None, True, True, False, 123, "0123", "1e3", 0]
    assert [type(m) for m in members[:8]] == [type(None), bool, bool, bool, int, str, str, int]
    path = ("segments", "s", "members")
    assert document.positions[(*path, 0)] == Position("c.yaml", 3, 15)
    assert document.positions[(*path, 1)] == Position("c.yaml", 3, 21)
    assert document.positions[(*path, 8)] == Position(
        "c.yaml", 3, 15 + len(", ".join(items[:8])) + 2
    )


def test_a_list_in_a_block_scalar_is_not_taken_and_loads_as_text() -> None:
    text = f"description: |\n  members: [{words(20)}]\nmembers: [{words(20)}]\n"
    assert take_flow_lists(text)[1]  # the scan finds both lines …
    assert not is_taken(text)  # … but the first is no list, so the text is composed
    document = assert_same(text)
    assert document.data["description"] == f"members: [{words(20)}]\n"  # type: ignore[index]


@pytest.mark.parametrize(
    "text",
    [
        f"a: &x\n  members: [{words(20)}]\nb: *x\nc:\n  <<: *x\n  name: n\n",
        f"base: &b\n  members: [{words(20)}]\nuse:\n  <<: *b\n  members: [{words(17, 5)}]\n",
        f"k: {{a: 1,\n  members: [{words(20)}]\n  }}\n",
        f"k: [\n  x,\n  members: [{words(20)}]\n  ]\n",
        f"- members: [{words(20)}]\n- ? members: [{words(18)}]\n  : v\n",
        f"k:\n  members: [{words(20)}]\n  members: [{words(19)}]\n",
        f"é😀 ü: [{words(20)}]\n# ß\nx: ✓\nκ: [{words(21)}]   \n",
        f"\ufeffk: [{words(20)}]\nj: [{words(20)}]\n",
        f"k: [{words(20)}]\r\nj:\r\n  m: [{words(20)}] # c\r\n",
        f'q: "start\n  members: [{words(20)}]\n  "\n',
        f"k: [{words(20)}]\nj: [x\n",
    ],
    ids=[
        "aliases",
        "merge",
        "flow-mapping",
        "flow-sequence",
        "block-sequence-and-key",
        "duplicate-key",
        "non-ascii",
        "bom",
        "crlf",
        "quoted",
        "syntax-error",
    ],
)
def test_lists_in_each_context_load_alike(text: str) -> None:
    assert_same(text)


@pytest.mark.parametrize(
    ("text", "taken"),
    [
        (f"k: [{words(20)}]\nj: [{words(20)}]\n", True),
        (f"\ufeffk: [{words(20)}]\n", True),
        (f"k: [{words(20)}]\r\n", True),
        (f"j: 1\rk: [{words(20)}]\n", False),  # \r alone breaks a line: not counted so
        (f"j: 1\u2028k: [{words(20)}]\n", False),
        (f"k: [{words(MIN_ITEMS - 1)}]\n", False),
        (f"k: [{words(20).replace(', ', ',')}]\n", False),
        (f"k: [{words(20)}]\t# c\n", False),
        (f"k: &a [{words(20)}]\n", False),
        (f"k: [{words(20)}]: v\n", False),
        (f"# k: [{words(20)}]\n", False),
        (f"k: [{words(20)}, -5]\n", False),
    ],
    ids=[
        "two",
        "bom",
        "crlf",
        "cr-alone",
        "line-separator",
        "short",
        "no-space",
        "tab-after",
        "anchor",
        "key",
        "comment",
        "not-a-word",
    ],
)
def test_which_lists_are_taken(text: str, taken: bool) -> None:
    assert is_taken(text) is taken
    assert_same(text)


def aliased(items: int, aliases: int) -> str:
    refs = "".join("  - *b\n" for _ in range(aliases))
    return f"base: &b\n  members: [{words(items)}]\nrefs:\n{refs}"


def test_the_alias_bound_counts_each_item_of_a_taken_list() -> None:
    items = 300
    size = 1 + 1 + 1 + items  # the mapping, its key, the list and its items
    most = MAX_EXPANDED // size  # aliases of it within the bound
    under, over = aliased(items, most), aliased(items, most + 1)
    assert is_taken(under) and is_taken(over)
    assert assert_same(under).data is not None
    document = assert_same(over)
    assert document.data is None
    assert "expand to more than" in document.problems[0].message


ANY_CONTEXT = [
    "{line}",
    "d: |\n  {line}",
    "d: >\n  x\n  {line}\n",
    "f: {{a: 1,\n{line}\n  }}",
    "s: [\n  x,\n{line}\n  ]",
    'q: "x\n{line}\n  "',
    "a{n}: &a{n}\n  {line}\nb: *a{n}\nc:\n  <<: *a{n}\n  k: 1",
    "- {line}",
    "? {line}\n: v",
    "# {line}",
    "p: plain\n  {line}",
]
TAKEN_CONTEXT = [  # where a list is always confirmed (so each example exercises it)
    "{line}",
    "m{n}:\n  {line}",
    "f{n}: {{a: 1,\n  {line}\n  }}",
    "s{n}:\n  - {line}\n  - {line}",
    "a{n}: &a{n}\n  {line}\nb{n}: *a{n}\nc{n}:\n  <<: *a{n}\n  k: 1",
    "a{n}: &a{n}\n  - x\n  - {line}\nb{n}: [*a{n}, *a{n}]\nc{n}:\n  <<: *a{n}",
    "? {line}\n: v",
]
GOOD_TAILS = ["", "  ", " # c", "  # c: [x]"]


@st.composite
def list_line(draw: st.DrawFn, min_items: int, tails: list[str]) -> str:
    """One line ``key: [items]`` and what may follow on it."""
    items = ", ".join(draw(st.lists(st.sampled_from(WORDS), min_size=min_items, max_size=40)))
    key = draw(st.sampled_from(["members", "k", "é😀", "\u0301x", "a b", "'q: x'", "<<"]))
    return f"{key}: [{items}]{draw(st.sampled_from(tails))}"


@st.composite
def documents(draw: st.DrawFn, contexts: list[str], min_items: int, tails: list[str]) -> str:
    """Lists in contexts, with the line ends, start and indents a file may have."""
    parts = []
    for n in range(draw(st.integers(1, 5))):
        indent = draw(st.sampled_from(["", "  ", "    "])) if contexts is ANY_CONTEXT else ""
        line = indent + draw(list_line(min_items, tails))
        parts.append(draw(st.sampled_from(contexts)).format(line=line, n=n))
    text = "\n".join(parts) + draw(st.sampled_from(["", "\n", "  \n"]))
    text = draw(st.sampled_from(["", "\ufeff", "# ß\n", "x: ✓\n"])) + text
    # A \r alone breaks a line to libyaml: such a text is composed as it is.
    ends = ["\n", "\r\n", "\r"] if contexts is ANY_CONTEXT else ["\n", "\r\n"]
    return text.replace("\n", draw(st.sampled_from(ends)))


PROPERTY = settings(
    max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY
@given(documents(ANY_CONTEXT, 1, [*GOOD_TAILS, "\t", ",", "]", ": v"]))
def test_any_document_loads_alike(text: str) -> None:
    assert_same(text)


@PROPERTY
@given(documents(TAKEN_CONTEXT, MIN_ITEMS, GOOD_TAILS))
def test_documents_whose_lists_are_taken_load_alike(text: str) -> None:
    assert is_taken(text)
    assert_same(text)
