"""Long lists of plain words, read from the text instead of composed.

Configs list members as flow sequences of usernames, one line each
(``    members: [user000800, user000926, …]``), or as block sequences, a line an item
(``      - user000800``, as ``plutoctl export`` writes them). libyaml composes each
item as a node with marks, and the loader's ``resolve`` is Python called for every
scalar: for a 2 MB config of 500 such lists (135,000 items of 158,000 nodes)
composing took 0.25–0.45 s of CPU, and 0.07 s with the lists emptied; finding them
with a regular expression takes 0.02 s. So ``take_lists`` empties each such list
(``[…]`` → ``[]``; a block list's key line gets ``[]`` and its item lines are left
blank), the shorter text is composed, and ``placed`` confirms that an empty flow
sequence starts exactly where each ``[`` stands; the builder then makes the items
from the text. If any list is not confirmed, the caller composes the original text.
``parse_yaml`` of that file went from 0.41–0.57 s of CPU to 0.22–0.27 s (fastest and
middle of seven runs, the garbage collector off), and of the same config with block
lists (3 MB) from 0.43 s to 0.27 s (fastest of five): the rest is composing and
building the other nodes.

Why a confirmed flow list gives the same tree as composing the original text (for
block lists, see ``take_block_lists``):

* Only the characters between ``[`` and ``]`` of one line change, so every line
  keeps its number and every character before the ``]`` its column. The text
  before the ``[`` is identical, and libyaml decides what a character starts from
  the characters before it and the character itself: an empty flow sequence whose
  mark is the ``[`` means the original's ``[`` opens a flow sequence too (not
  text inside a block scalar, a quoted or plain scalar spanning lines, or a comment).
* In a flow sequence, a plain scalar ends at ``,`` or ``]`` (trailing spaces are not
  part of it), and the items here are words that cannot start or hold anything else:
  no indicator, space, ``#``, ``:`` or quote. So the original's items are exactly
  these words, untagged plain scalars at the columns computed here.
* After the ``]`` only spaces or a comment end the line, in both texts. Nothing
  follows that could make the list a mapping key (a key is on one line; libyaml
  forgets a possible key at the line's end, or 1,024 characters on, whichever comes
  first, and neither text has a ``:`` before then), and no node starts at the
  columns the shorter line moved.

The node of a taken list is composed empty, so whatever reads a node's items must
ask for the list first: the builder (items, positions, the ``<<`` merge key's check)
and ``Bounds`` (what an alias of it repeats) do. A text whose lists are not all
confirmed is composed twice, as it is the second time: 0.1 s more for the file above.

Lines break at ``\\n`` only, as counted here: a text with another break libyaml
knows (a ``\\r`` not before ``\\n``, NEL, U+2028, U+2029) is left alone. libyaml
counts columns in characters, as Python indexes a string, and does not count a
byte-order mark at the start of the first line.
"""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass
from itertools import accumulate
from operator import add

import yaml

from plutoctl.config.positions import pack

MIN_ITEMS = 16
"""Shorter lists are composed as usual: not worth the checks, and small configs stay
on the one path."""

_WORD = r"[A-Za-z0-9_][A-Za-z0-9_.@+-]*"
_SEPARATOR = ", "
# The end of a line: ": [", at least MIN_ITEMS words separated by ", " (the form YAML
# writers use; other spacing is composed as usual), then "]" and only spaces or a
# comment. A line holding it is taken unless it is a comment (_is_comment); with the
# line's start unanchored, the expression runs about twice as fast.
_FLOW_LIST = re.compile(
    rf": \[(?P<items>{_WORD}(?:{_SEPARATOR}{_WORD}){{{MIN_ITEMS - 1},}})\](?: *\r?| +#[^\n]*)$",
    re.MULTILINE,
)
_OTHER_BREAKS = ("\x85", "\u2028", "\u2029")  # line breaks to libyaml, as \r alone is
_BOM = "\ufeff"

Mark = tuple[int, int]
"""A 0-based line and column, as libyaml's marks count them."""


@dataclass(frozen=True)
class FlowList:
    """One list taken out of the text: its items' text and their packed positions
    (``positions.pack``: 1-based line and column of each item's first character).

    ``key_column``: for a block list, the column its key must be composed at, in a
    block mapping (see ``take_block_lists``); None for a flow list.
    """

    items: list[str]
    marks: array[int]
    key_column: int | None = None


def take_lists(text: str) -> tuple[str, dict[Mark, FlowList]]:
    """Return ``text`` with its long flow and block lists of words emptied, and the
    lists by the mark of the ``[`` each became (``take_flow_lists``,
    ``take_block_lists``): the one only edits within a line, the other whole lines
    the first leaves alone, so the marks of each stay where they were."""
    shorter, flow = take_flow_lists(text)
    shorter, block = take_block_lists(shorter)
    return shorter, {**flow, **block}


def take_flow_lists(text: str) -> tuple[str, dict[Mark, FlowList]]:
    """Return ``text`` with each long one-line flow list of words emptied, and the
    lists by the mark of their ``[``; no lists (and ``text``) when none qualifies."""
    if _has_other_breaks(text):
        return text, {}
    rewrite = _Rewrite(text)
    lists: dict[Mark, FlowList] = {}
    for match in _FLOW_LIST.finditer(text):
        start, end = match.span("items")
        bracket = start - 1
        line_start = text.rfind("\n", 0, bracket) + 1
        if text[line_start:bracket].lstrip(" ").startswith("#"):
            continue
        line = rewrite.line_of(start)
        column = bracket - line_start
        if line == 0 and text.startswith(_BOM):
            column -= 1
        lists[line, column] = _flow_list(match.group("items"), line, column)
        rewrite.replace(start, end)
    return (rewrite.result(), lists) if lists else (text, {})


class _Rewrite:
    """A text rewritten front to back: the pieces kept so far, and the lines counted."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.kept: list[str] = []
        self.copied = 0  # text[:copied] is in ``kept``, as it is or replaced
        self.line = 0
        self.counted = 0  # text[:counted] holds ``line`` line breaks

    def line_of(self, at: int) -> int:
        """Return the 0-based line of ``text[at]`` (``at`` never less than the last)."""
        self.line += self.text.count("\n", self.counted, at)
        self.counted = at
        return self.line

    def replace(self, start: int, end: int, *pieces: str) -> None:
        """Keep the text up to ``start``, then ``pieces`` in place of ``text[start:end]``."""
        self.kept += [self.text[self.copied : start], *pieces]
        self.copied = end

    def result(self) -> str:
        return "".join([*self.kept, self.text[self.copied :]])


def _has_other_breaks(text: str) -> bool:
    """Whether libyaml breaks a line of ``text`` where this module does not count one."""
    return any(map(text.__contains__, _OTHER_BREAKS)) or text.count("\r") != text.count("\r\n")


def _flow_list(inside: str, line: int, bracket: int) -> FlowList:
    """The items between the brackets (``inside``) of a ``[`` at ``line``, ``bracket``."""
    items = inside.split(_SEPARATOR)
    # Item i starts after the items before it and i separators: summed in C
    # (accumulate, map), as a list holds hundreds. pack() is line << 32 | column, so
    # adding to it moves the column.
    first = pack(line + 1, bracket + 2)
    step = len(_SEPARATOR)
    starts = map(add, accumulate(map(len, items), initial=first), range(0, step * len(items), step))
    return FlowList(items, array("q", starts))


# A key alone on its line ("    members:"), then at least MIN_ITEMS lines "- word" at
# one indent, each a whole line: the block lists ``plutoctl export`` writes. What
# follows the last is checked by _ends_list.
_BLOCK_LIST = re.compile(
    rf"^(?P<bom>{_BOM})?(?P<key> *[A-Za-z_][A-Za-z0-9_.-]*): *(?P<eol>\r?\n)"
    rf"(?P<items>(?P<dash> *)- {_WORD} *\r?\n"
    rf"(?:(?P=dash)- {_WORD} *(?:\r?\n|\Z)){{{MIN_ITEMS - 1},}})",
    re.MULTILINE,
)


def take_block_lists(text: str) -> tuple[str, dict[Mark, FlowList]]:
    """Return ``text`` with each long block list of words written ``key: []`` and its
    item lines left blank, and the lists by the mark of that ``[``; no lists (and
    ``text``) when none qualifies.

    Why a confirmed list gives the same tree as the original text: the text before
    the key's ``:`` is the same, so the key is composed at the same place in both;
    ``placed`` confirms it is a key of a block mapping, at the column of its line's
    first character, with the ``[]`` its value. In the original, lines ``- word`` at
    an indent not less than the key's are then its value's block sequence, whose
    items are these words (plain scalars: nothing in them ends or types them
    otherwise, and nothing follows them on their lines). The sequence ends at the
    line after the last item, which ``_ends_list`` requires to be the end of the
    text or a line indented no more than the key (and not an item of a sequence at
    the key's own indent): there both texts close the value and go on alike, the
    blank lines standing for the items being nothing to YAML.
    """
    if _has_other_breaks(text):
        return text, {}
    rewrite = _Rewrite(text)
    lists: dict[Mark, FlowList] = {}
    for match in _BLOCK_LIST.finditer(text):
        key, dash = match.group("key"), match.group("dash")
        key_column = len(key) - len(key.lstrip(" "))
        if match.group("bom") and match.start():
            continue  # a byte-order mark is one only at the start of the text
        if len(dash) < key_column or not _ends_list(text, match.end(), key_column, len(dash)):
            continue
        line = rewrite.line_of(match.start())
        lines = match.group("items")
        items = lines.split()[1::2]  # "-", word, "-", word, …: no word holds a space
        first, step = pack(line + 2, len(dash) + 3), pack(1, 0)  # a line below the key's
        marks = array("q", range(first, first + step * len(items), step))
        # libyaml does not count a byte-order mark in a column: the key group holds none.
        lists[line, len(key) + 2] = FlowList(items, marks, key_column)
        eol = match.group("eol")
        rewrite.replace(match.start("key"), match.end(), key, ": []", eol, _line_ends(lines))
    return (rewrite.result(), lists) if lists else (text, {})


def _line_ends(lines: str) -> str:
    """Return the line breaks of ``lines``, in order: blank lines for them."""
    if "\r" not in lines:
        return "\n" * lines.count("\n")
    return "".join(entry[len(entry.rstrip("\r\n")) :] for entry in lines.splitlines(True))


def _ends_list(text: str, end: int, key_column: int, dash_column: int) -> bool:
    """Whether a block list whose last item line ends at ``end`` ends there in YAML."""
    if end == len(text):
        return True
    stop = text.find("\n", end)
    after = text[end : stop if stop >= 0 else len(text)].rstrip("\r")
    content = after.lstrip(" ")
    indent = len(after) - len(content)
    if not content or content[0] in "#\t" or indent > key_column:
        return False  # blank lines or comments may come before more items
    return not (indent == dash_column and content[0] == "-")


def placed(root: yaml.Node, lists: dict[Mark, FlowList]) -> dict[int, FlowList] | None:
    """Return each list by the ``id`` of the empty flow sequence composed at its mark,
    or None unless every list has one (then the original text must be composed). A
    block list's must be the value of a key at its ``key_column`` in a block mapping.

    The tree is a graph when aliases are used: each node is visited once.
    """
    found: dict[Mark, tuple[yaml.Node, Mark | None]] = {}  # node, its block key's mark
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, Mark | None]] = [(root, None)]
    while stack:
        node, key_mark = stack.pop()
        if type(node) is yaml.ScalarNode or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            is_block = not node.flow_style
            for key, value in node.value:
                stack.append((key, None))
                mark = key.start_mark
                stack.append((value, (mark.line, mark.column) if is_block else None))
        elif isinstance(node, yaml.SequenceNode) and node.value:
            stack.extend((child, None) for child in node.value)
        elif isinstance(node, yaml.SequenceNode) and node.flow_style:
            mark = (node.start_mark.line, node.start_mark.column)
            if mark in found:
                return None  # two at one place: neither can be told to be the list
            found[mark] = (node, key_mark)
    for mark, taken in lists.items():
        if mark not in found:
            return None
        if taken.key_column is not None and found[mark][1] != (mark[0], taken.key_column):
            return None
    return {id(found[mark][0]): taken for mark, taken in lists.items()}
