"""Long lists of words read from the text (yaml_lists) load exactly as when composed.

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
from plutoctl.config.yaml_lists import (
    MIN_ITEMS,
    placed,
    take_block_lists,
    take_flow_lists,
    take_lists,
)
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
    shorter, lists = take_lists(text)
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


# --- block lists: a key alone on its line, then lines "- word" ----------------------


def block(count: int, key: str = "members", indent: int = 0, dash: int = 2) -> str:
    """``key:`` at ``indent`` and ``count`` items at ``indent + dash``, each line ended."""
    items = "".join(f"{' ' * (indent + dash)}- user{i:06d}\n" for i in range(count))
    return f"{' ' * indent}{key}:\n{items}"


def test_a_long_block_list_is_taken_with_each_item_placed() -> None:
    words = ["null", "TRUE", "0123", "12", *(f"user{i:06d}" for i in range(MIN_ITEMS))]
    items = "".join(f"      - {word}\n" for word in words)
    text = f"segments:\n  s:\n    members:\n{items}    name: S\n"
    assert is_taken(text)
    document = assert_same(text)
    members = document.data["segments"]["s"]["members"]  # type: ignore[index]
    assert members[:5] == [None, True, "0123", 12, "user000000"]
    path = ("segments", "s", "members")
    assert document.positions[(*path, 0)] == Position("c.yaml", 4, 9)
    assert document.positions[(*path, 5)] == Position("c.yaml", 9, 9)


@pytest.mark.parametrize(
    ("text", "taken"),
    [
        (block(20), True),
        (block(20, dash=0), True),  # the items at the key's own indent
        (block(20, indent=2, dash=0).replace("\n", "\r\n"), True),
        ("\ufeff" + block(20) + "k: 1\n", True),
        (block(20)[:-1], True),  # the last line without its line break
        ("- a: 1\n" + block(20, indent=2) + "- b: 2\n", True),
        (block(MIN_ITEMS - 1), False),
        (block(20) + "\n" + block(3)[9:], False),  # a blank line, then more items
        (block(20) + "  # c\n  - more\n", False),
        (block(20, dash=0) + "- more b\n", False),
        (block(20, indent=2) + "    k: 1\n", False),  # more indented than the key
        (block(20) + "  - x y\n", False),  # an item that is no word ends the run
        ("d: |\n" + block(20, indent=2), False),
        ("k: &a\n" + block(20, indent=2), True),
        ("members: &a\n" + block(20)[9:], False),
        ("f: {a: 1,\n" + block(20, indent=2) + "  }\n", False),
        ('q: "x\n' + block(20, indent=2) + '  "\n', False),
        ("p: plain\n" + block(20, indent=2), False),
        ("m:\n" + block(20, indent=2, dash=-2), False),
    ],
    ids=[
        "top-level",
        "compact",
        "crlf",
        "bom",
        "no-last-break",
        "in-a-sequence",
        "short",
        "blank-then-more",
        "comment-then-more",
        "compact-then-other-item",
        "deeper-next-line",
        "not-a-word",
        "block-scalar",
        "under-an-anchor",
        "anchored",
        "flow-mapping",
        "quoted",
        "plain-scalar",
        "items-less-indented",
    ],
)
def test_which_block_lists_are_taken(text: str, taken: bool) -> None:
    assert is_taken(text) is taken
    assert assert_same(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        block(20) + "\n" + block(3)[9:],
        block(20) + "  # c\n  - more\n",
        block(20, dash=0) + "- more b\n",
        block(20, indent=2) + "    k: 1\n",
        "m:\n" + block(20, indent=2, dash=-2),  # items left of their key
    ],
    ids=["blank-then-more", "comment", "compact-then-other", "deeper-next", "less-indented"],
)
def test_the_scan_leaves_lists_whose_end_or_indent_it_cannot_vouch_for(text: str) -> None:
    """Not even tried: composed, each would fail or differ, costing a second compose."""
    assert take_block_lists(text)[1] == {}


BLOCK_CONTEXTS = [  # (template, the list's indent)
    ("{block}", 0),
    ("m{n}:\n{block}", 2),
    ("d{n}: |\n{block}", 2),
    ("d{n}: >\n  x\n{block}", 2),
    ("f{n}: {{a: 1,\n{block}  }}\n", 2),
    ("s{n}: [\n  x,\n{block}  ]\n", 2),
    ("- a: 1\n{block}", 2),
    ("a{n}: &a{n}\n{block}b{n}: *a{n}\nc{n}:\n  <<: *a{n}\n  k: 1\n", 2),
    ('q{n}: "x\n{block}  "\n', 2),
    ("p{n}: plain\n{block}", 2),
    ("# c\n{block}", 0),
    ("? k{n}\n:\n{block}", 2),
]
FOLLOWERS = ["", "k: 1\n", "\n", "  - more\n", "\n  - more\n", "# c\n", "- x\n", "  k: 1\n"]


TAKEN_BLOCK_CONTEXTS = [  # a long list here is taken: what follows is a key at column 0
    ("{block}", 0),
    ("m{n}:\n{block}", 2),
    ("s{n}:\n- a: 1\n{block}", 2),
    ("a{n}: &a{n}\n{block}b{n}: *a{n}\nc{n}:\n  <<: *a{n}\n  k: 1\n", 2),
]


@st.composite
def block_documents(
    draw: st.DrawFn,
    contexts: list[tuple[str, int]],
    min_items: int,
    followers: list[str],
    keys: list[str],
) -> str:
    """Block lists in contexts, followed by what a file may hold next."""
    parts = []
    for n in range(draw(st.integers(1, 4))):
        template, indent = draw(st.sampled_from(contexts))
        dash = indent + draw(st.sampled_from([0, 2, 4]))
        words = draw(st.lists(st.sampled_from(WORDS[:-4]), min_size=min_items, max_size=30))
        tail = draw(st.sampled_from(["", "  "]))
        items = "".join(f"{' ' * dash}- {word}{tail}\n" for word in words)
        key = draw(st.sampled_from(keys))
        text = f"{' ' * indent}{key}{n}:\n{items}" + draw(st.sampled_from(followers))
        parts.append(template.format(block=text, n=n))
    text = "".join(parts)
    text = draw(st.sampled_from(["", "\ufeff", "x: ✓\n"])) + text
    ends = ["\n", "\r\n", "\r"] if contexts is BLOCK_CONTEXTS else ["\n", "\r\n"]
    return text.replace("\n", draw(st.sampled_from(ends)))


@PROPERTY
@given(block_documents(BLOCK_CONTEXTS, MIN_ITEMS - 2, FOLLOWERS, ["members", "k", "a b", "x.y"]))
def test_any_document_with_block_lists_loads_alike(text: str) -> None:
    assert_same(text)


@PROPERTY
@given(block_documents(TAKEN_BLOCK_CONTEXTS, MIN_ITEMS, [""], ["members", "x.y"]))
def test_documents_whose_block_lists_are_taken_load_alike(text: str) -> None:
    assert is_taken(text)
    assert_same(text)


def test_both_kinds_of_list_are_taken_from_one_text() -> None:
    text = f"a: [{words(20)}]\n" + block(20) + f"b: [{words(20)}]\n" + block(20, "c")
    shorter, lists = take_lists(text)
    assert len(lists) == 4 and shorter.count("[]") == 4
    assert is_taken(text)
    assert_same(text)
