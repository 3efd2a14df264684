"""Long one-line lists of plain words, read from the text instead of composed.

Configs list members as flow sequences of usernames, one line each
(``    members: [user000800, user000926, …]``). libyaml composes each item as a node
with marks, and the loader's ``resolve`` is Python called for every scalar: for a
2 MB config of 500 such lists (135,000 items of 158,000 nodes) composing took
0.25–0.45 s of CPU, and 0.07 s with the lists emptied; finding them with one regular
expression takes 0.02 s. So ``take_flow_lists`` empties each such list (``[…]`` →
``[]``), the shorter text is composed, and ``placed`` confirms that an empty flow
sequence starts exactly where each ``[`` stood; the builder then makes the items
from the text. If any list is not confirmed, the caller composes the original text.
``parse_yaml`` of that file went from 0.41–0.57 s of CPU to 0.22–0.27 s (fastest and
middle of seven runs, the garbage collector off): the rest is composing and building
the other nodes.

Why a confirmed list gives the same tree as composing the original text:

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
    (``positions.pack``: 1-based line and column of each item's first character)."""

    items: list[str]
    marks: array[int]


def take_flow_lists(text: str) -> tuple[str, dict[Mark, FlowList]]:
    """Return ``text`` with each long one-line flow list of words emptied, and the
    lists by the mark of their ``[``; no lists (and ``text``) when none qualifies."""
    if any(map(text.__contains__, _OTHER_BREAKS)) or text.count("\r") != text.count("\r\n"):
        return text, {}
    kept: list[str] = []
    lists: dict[Mark, FlowList] = {}
    line = 0
    counted = 0  # text[:counted] holds `line` line breaks
    copied = 0
    for match in _FLOW_LIST.finditer(text):
        start, end = match.span("items")
        bracket = start - 1
        line_start = text.rfind("\n", 0, bracket) + 1
        if text[line_start:bracket].lstrip(" ").startswith("#"):
            continue
        line += text.count("\n", counted, start)
        counted = start
        column = bracket - line_start
        if line == 0 and text.startswith(_BOM):
            column -= 1
        lists[line, column] = _flow_list(match.group("items"), line, column)
        kept.append(text[copied:start])
        copied = end
    if not lists:
        return text, {}
    kept.append(text[copied:])
    return "".join(kept), lists


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


def placed(root: yaml.Node, lists: dict[Mark, FlowList]) -> dict[int, FlowList] | None:
    """Return each list by the ``id`` of the empty flow sequence composed at its mark,
    or None unless every list has one (then the original text must be composed).

    The tree is a graph when aliases are used: each node is visited once.
    """
    found: dict[Mark, yaml.Node] = {}
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if type(node) is yaml.ScalarNode or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append(key)
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode) and node.value:
            stack.extend(node.value)
        elif isinstance(node, yaml.SequenceNode) and node.flow_style:
            mark = (node.start_mark.line, node.start_mark.column)
            if mark in found:
                return None  # two at one place: neither can be told to be the list
            found[mark] = node
    if any(mark not in found for mark in lists):
        return None
    return {id(found[mark]): taken for mark, taken in lists.items()}
